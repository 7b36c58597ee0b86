"""Wire records: the JSON shapes alertfold writes on its topics.

They live in the domain because they are the product's public contract (README "Topics"),
not an implementation detail of one gateway. Every value carries `type` and `schema_version`
so consumers can reject what they do not understand instead of misreading it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.severity import Severity

ISSUE_EVENT_SCHEMA_VERSION: Literal[1] = 1

IssueStatus = Literal["open", "resolved", "archived"]
# How an issue got resolved: by a `resolved` alert, by its auto-resolve deadline (which
# counts as inconclusive when the alert asked for it with `autoResolveAsInconclusive`), or
# by a person.
Resolution = Literal["alert", "auto", "inconclusive", "manual"]


class InputPosition(BaseModel):
    """Where in the input log a decision came from; event ids are derived from it."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class IssueSnapshot(BaseModel):
    """An issue's state right after an event: what read models and presenters need."""

    model_config = ConfigDict(frozen=True)

    id: str
    channel_id: str
    correlation_id: str
    status: IssueStatus
    severity: Severity
    alert_count: int
    header: str
    text: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    resolution: Resolution | None = None
    archived_at: datetime | None = None
    # How many of the latest alert's escalation points have been applied.
    escalation_level: int = 0
    mentions: list[str] = Field(
        default_factory=list, description="Mentions of the escalation point last applied."
    )
    slack_ts: str | None = None  # the issue's Slack message, once posted
    # Who acted, as {kind, id, name}: acknowledged, investigates, muted, resolved by hand.
    acknowledged_by: dict[str, Any] | None = None
    acknowledged_at: datetime | None = None
    investigated_by: dict[str, Any] | None = None
    muted_by: dict[str, Any] | None = None
    resolved_by: dict[str, Any] | None = None
    # False while the issue waits out its notification delay, and for good when it was
    # resolved before the delay passed: presenters show nothing then.
    presentable: bool = True
    # Set while a silence covers the issue: notifiers stay quiet, Slack says until when.
    silenced_until: datetime | None = None
    silence_id: str | None = None
    last_alert: dict[str, Any] = Field(
        description="The latest alert of the issue, as Slack Manager alert JSON (camelCase)."
    )


class IssueEventRecord(BaseModel):
    """One decision of the fold, as written on `issue-events` (key: channel id).

    `event_id` is derived from `cause` and the event's place among the events that input
    produced, so a re-fold of the same input yields the same ids and consumers can drop
    duplicates. `version` is the issue's version after the event (1 for `IssueOpened`).
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = ISSUE_EVENT_SCHEMA_VERSION
    type: str
    event_id: str
    issue_id: str
    version: int
    channel_id: str
    correlation_id: str
    occurred_at: datetime
    cause: InputPosition
    data: dict[str, Any] = Field(default_factory=dict)
    issue: IssueSnapshot
    folded_before: dict[str, int] = Field(
        default_factory=dict,
        description="For each input topic of the partition, the next offset the fold had "
        "not yet applied when it decided this event: with the causes, the order in which the "
        "fold interleaved its inputs, so a re-fold (after a crash, or by `alertfold verify`) "
        "can repeat it exactly.",
    )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> IssueEventRecord:
        return cls.model_validate_json(raw)
