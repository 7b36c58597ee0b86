"""What a move means for Slack: the issue's message in the channel it left must go.

The fold writes `IssueMoved` on the source channel's partition with the issue's state already
in the target channel (its snapshot names the target and has no message yet), then
`IssueArrived` on the target channel's partition. The presenter posts on `IssueArrived` like
on any state without a message, so here only the old message matters: which channel, and
its ts if the fold knew it (a message posted just before the move may not be recorded yet;
the presenter then finds it by its metadata).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.records import IssueEventRecord

MOVED = "IssueMoved"


@dataclass(frozen=True)
class MovedAway:
    issue_id: str
    channel_id: str  # the channel the issue left, where its old message is
    ts: str | None  # the old message, if the fold knew it
    to_channel_id: str


def moved_away(event: IssueEventRecord) -> MovedAway | None:
    """The old message to delete, if the event moved the issue out of a channel."""
    if event.type != MOVED:
        return None
    source = event.data.get("from_channel_id")
    target = event.issue.channel_id
    if not isinstance(source, str) or not source or source == target:
        return None
    ts = event.data.get("from_slack_ts")
    return MovedAway(event.issue_id, source, ts if isinstance(ts, str) and ts else None, target)
