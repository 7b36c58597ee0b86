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

IssueStatus = Literal["open", "resolved"]


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

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> IssueEventRecord:
        return cls.model_validate_json(raw)
