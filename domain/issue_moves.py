"""The second half of a move: the issue arriving in its new channel.

`IssueMoved` (an act, see `domain.issue_acts`) is decided on the old channel's partition and
carries the issue away; the worker hands the issue's state to the new channel's partition as
an input, where `IssueArrived` continues the same issue (same id, next version). A channel
already holding a live issue for the correlation id keeps it; the arriving one is archived
there at once rather than silently replacing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

if TYPE_CHECKING:
    from domain.issue import Issue

TARGET_HAS_LIVE_ISSUE = "target_has_live_issue"


class IssueArrived(Aggregate.Event):
    from_channel_id: str
    reason: str


def arrive(
    issue: Issue, *, from_channel_id: str, reason: str, occupied: bool, at: datetime
) -> None:
    issue.trigger_event(IssueArrived, timestamp=at, from_channel_id=from_channel_id, reason=reason)
    if occupied:
        issue.archive(TARGET_HAS_LIVE_ISSUE, due_at=at, at=at)
