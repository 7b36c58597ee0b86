"""Whether a silence covers an issue, decided again whenever something could change it.

An issue is silenced by the silence that covers its latest alert, or, for an issue with
member alerts, by the silences that cover every firing member (see `domain.silences`);
that is reconsidered when an alert joins it, when a silence is set or expired, and at the
issue's own silence deadlines (see `domain.deadlines`): the end of the silence covering it,
and the start of the next silence set for later that matches it. Keeping that next start on
the issue (rather than marking silences "started" as ticks pass) means nothing changes
without an event saying so, so a re-fold decides the same in whichever order it meets inputs
that changed nothing. The issue records which silence and until when, so notifiers and Slack
can say so without knowing the silences themselves. `IssueSilencing` is mixed into `Issue`
(`domain.issue`), so reconsidering is the aggregate's own command,
`issue.reconsider_silence(…)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import Aggregate

from domain.issue_reminders import restart_reminders
from domain.issue_state import IssueState
from domain.silences import Silence, next_silence_start, silence_for_all


class IssueSilencing:
    """The silencing of `Issue`: its events and the command `reconsider_silence`."""

    if TYPE_CHECKING:  # what silencing takes from `Issue`, into which it is mixed
        state: IssueState  # its `Issue.State`, which the events change in place

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    class IssueSilenced(Aggregate.Event):
        silence_id: str
        until: datetime
        next_start: datetime | None

        def apply(self, aggregate: Aggregate) -> None:
            state = cast(IssueSilencing, aggregate).state
            state.silence_id = self.silence_id
            state.silenced_until = self.until
            state.silence_starts_at = self.next_start

    class IssueSilenceEnded(Aggregate.Event):
        """The silence ended (its time ran out, or it was expired early)."""

        silence_id: str
        next_start: datetime | None

        def apply(self, aggregate: Aggregate) -> None:
            state = cast(IssueSilencing, aggregate).state
            state.silence_id = None
            state.silenced_until = None
            state.silence_starts_at = self.next_start
            restart_reminders(state, self.timestamp)

    class IssueSilenceScheduled(Aggregate.Event):
        """A silence set for later matches the issue: it is reconsidered at `next_start`."""

        next_start: datetime | None

        def apply(self, aggregate: Aggregate) -> None:
            cast(IssueSilencing, aggregate).state.silence_starts_at = self.next_start

    def reconsider_silence(self, silences: Sequence[Silence], *, at: datetime) -> None:
        """Silence the issue, move it to another silence, end its silence, or note when one set
        for later starts, as the silences say at `at`."""
        state = self.state
        if state.status == "archived":
            return
        if not silences and state.silence_id is None and state.silence_starts_at is None:
            return  # nothing could silence it, and nothing does: the common case, made cheap
        subjects = _silence_subjects(state)
        covering = silence_for_all(list(silences), subjects, at)
        next_start = next_silence_start(list(silences), subjects, at)
        if covering is None and state.silence_id is not None:
            self.trigger_event(
                self.IssueSilenceEnded,
                timestamp=at,
                silence_id=state.silence_id,
                next_start=next_start,
            )
        elif covering is not None and (covering.id, covering.ends_at) != (
            state.silence_id,
            state.silenced_until,
        ):
            self.trigger_event(
                self.IssueSilenced,
                timestamp=at,
                silence_id=covering.id,
                until=covering.ends_at,
                next_start=next_start,
            )
        elif next_start != state.silence_starts_at:
            self.trigger_event(self.IssueSilenceScheduled, timestamp=at, next_start=next_start)


def _silence_subjects(state: IssueState) -> list[dict[str, Any]]:
    """What a silence must cover to silence the issue: each firing member (an Alertmanager
    silence silences alerts, so the issue is quiet once all its firing alerts are), else
    the latest alert."""
    firing = [member.as_alert(state.last_alert) for member in state.members if member.firing]
    return firing or [state.last_alert]
