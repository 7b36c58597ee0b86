"""The second half of a move: the issue arriving in its new channel.

`IssueMoved` (an act, see `domain.issue_acts`) is decided on the old channel's partition and
carries the issue away; the worker hands the issue's state to the new channel's partition as
an input, where `IssueArrived` continues the same issue (same id, next version). A channel
already holding a live issue for the correlation id keeps it; the arriving one is archived
there at once rather than silently replacing it. `IssueArrivals` is mixed into `Issue`
(`domain.issue`), so arriving is the aggregate's own command, `issue.arrive(…)`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

TARGET_HAS_LIVE_ISSUE = "target_has_live_issue"


class IssueArrivals:
    """The arrival of `Issue` in the channel it moved to: its event and its command."""

    if TYPE_CHECKING:  # what arriving takes from `Issue`, into which it is mixed

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

        def archive(self, reason: str, *, due_at: datetime, at: datetime) -> None: ...

    class IssueArrived(Aggregate.Event):
        from_channel_id: str
        reason: str

    def arrive(self, *, from_channel_id: str, reason: str, occupied: bool, at: datetime) -> None:
        """Continue the issue here; archive it at once if the channel is `occupied`."""
        self.trigger_event(
            self.IssueArrived, timestamp=at, from_channel_id=from_channel_id, reason=reason
        )
        if occupied:
            self.archive(TARGET_HAS_LIVE_ISSUE, due_at=at, at=at)
