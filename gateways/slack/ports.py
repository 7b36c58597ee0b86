"""What the Slack gateways need from the rest of alertfold, as protocols they can be given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

Issue = dict[str, Any]


class IssueReader(Protocol):
    """The lookup view (blocking calls: run in a thread)."""

    def get_issue(self, issue_id: str) -> Issue | None: ...

    def issue_by_slack_ts(self, channel_id: str, slack_ts: str) -> Issue | None: ...


class IssueFinder(IssueReader, Protocol):
    """The lookup view, as far as the interaction gateway reads it."""

    def list_issues(self, *, channel_id: str, status: str, limit: int) -> list[Issue]: ...


class Publisher(Protocol):
    """Writes (key, value) records to one topic; returns once the broker acknowledged them."""

    async def publish(self, records: Sequence[tuple[str, bytes]]) -> None: ...
