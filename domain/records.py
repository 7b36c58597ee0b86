"""The fold's decisions as values: each event it decides, as `issue-events` carries it, and
the place in the input log it was decided on.

They live in the domain because they are the product's public contract (README "Topics"),
not an implementation detail of one gateway; `wire.issue_events` reads and writes them. Each
event carries `type` and `schema_version` so consumers can reject what they do not
understand instead of misreading it. The issue inside each event is an `IssueSnapshot`
(`domain.issue_state`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.issue_state import IssueSnapshot

ISSUE_EVENT_SCHEMA_VERSION: Literal[1] = 1


class InputPosition(BaseModel):
    """Where in the input log a decision came from; event ids are derived from it."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


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
