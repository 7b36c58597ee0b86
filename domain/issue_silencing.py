"""Whether a silence covers an issue, decided again whenever something could change it.

An issue is silenced by the silence that covers its latest alert (see `domain.silences`);
that is reconsidered when an alert joins it, when a silence is set or expired, and at the
issue's own silence deadlines (see `domain.deadlines`): the end of the silence covering it,
and the start of the next silence set for later that matches it. Keeping that next start on
the issue (rather than marking silences "started" as ticks pass) means nothing changes
without an event saying so, so a re-fold decides the same in whichever order it meets inputs
that changed nothing. The issue records which silence and until when, so notifiers and Slack
can say so without knowing the silences themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, cast

from eventsourcing.domain import Aggregate

from domain.silences import Silence, next_silence_start, silence_for

if TYPE_CHECKING:
    from domain.issue import Issue


class IssueSilenced(Aggregate.Event):
    silence_id: str
    until: datetime
    next_start: datetime | None

    def apply(self, aggregate: Aggregate) -> None:
        state = cast("Issue", aggregate).state
        state.silence_id = self.silence_id
        state.silenced_until = self.until
        state.silence_starts_at = self.next_start


class IssueSilenceEnded(Aggregate.Event):
    """The silence ended (its time ran out, or it was expired early)."""

    silence_id: str
    next_start: datetime | None

    def apply(self, aggregate: Aggregate) -> None:
        state = cast("Issue", aggregate).state
        state.silence_id = None
        state.silenced_until = None
        state.silence_starts_at = self.next_start


class IssueSilenceScheduled(Aggregate.Event):
    """A silence set for later matches the issue: it is reconsidered at `next_start`."""

    next_start: datetime | None

    def apply(self, aggregate: Aggregate) -> None:
        cast("Issue", aggregate).state.silence_starts_at = self.next_start


def reconsider_silence(issue: Issue, silences: Sequence[Silence], *, at: datetime) -> None:
    """Silence the issue, move it to another silence, end its silence, or note when one set
    for later starts, as the silences say at `at`."""
    state = issue.state
    if state.status == "archived":
        return
    covering = silence_for(list(silences), state.last_alert, at)
    next_start = next_silence_start(list(silences), state.last_alert, at)
    if covering is None and state.silence_id is not None:
        issue.trigger_event(
            IssueSilenceEnded, timestamp=at, silence_id=state.silence_id, next_start=next_start
        )
    elif covering is not None and (covering.id, covering.ends_at) != (
        state.silence_id,
        state.silenced_until,
    ):
        issue.trigger_event(
            IssueSilenced,
            timestamp=at,
            silence_id=covering.id,
            until=covering.ends_at,
            next_start=next_start,
        )
    elif next_start != state.silence_starts_at:
        issue.trigger_event(IssueSilenceScheduled, timestamp=at, next_start=next_start)
