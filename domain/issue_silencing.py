"""Whether a silence covers an issue, decided again whenever something could change it.

An issue is silenced by the silence that covers its latest alert (see `domain.silences`);
that is reconsidered when an alert joins it, when a silence is set or expired, when a silence
that was set for later starts, and when the one silencing it ends (a deadline, see
`domain.deadlines`). The issue records which silence and until when, so notifiers and Slack
can say so without knowing the silences themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from eventsourcing.domain import Aggregate

from domain.silences import Silence, silence_for

if TYPE_CHECKING:
    from domain.issue import Issue


class IssueSilenced(Aggregate.Event):
    silence_id: str
    until: datetime

    def apply(self, aggregate: Aggregate) -> None:
        issue = cast("Issue", aggregate)
        issue.silence_id = self.silence_id
        issue.silenced_until = self.until


class IssueSilenceEnded(Aggregate.Event):
    """The silence ended (its time ran out, or it was expired early)."""

    silence_id: str

    def apply(self, aggregate: Aggregate) -> None:
        issue = cast("Issue", aggregate)
        issue.silence_id = None
        issue.silenced_until = None


def reconsider_silence(issue: Issue, silences: Sequence[Silence], *, at: datetime) -> None:
    """Silence the issue, move it to another silence, or end its silence, as `at` requires."""
    if issue.status == "archived":
        return
    covering = silence_for(list(silences), issue.last_alert, at)
    if covering is None:
        if issue.silence_id is not None:
            issue.trigger_event(IssueSilenceEnded, timestamp=at, silence_id=issue.silence_id)
        return
    if (covering.id, covering.ends_at) != (issue.silence_id, issue.silenced_until):
        issue.trigger_event(
            IssueSilenced, timestamp=at, silence_id=covering.id, until=covering.ends_at
        )
