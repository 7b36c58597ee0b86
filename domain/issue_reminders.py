"""Reminders: an issue left open with nobody on it is brought up again every interval.

Alert Bridge's `resend_interval`. An issue is unattended while it is open and shown (its
notification delay passed), nobody acknowledged it, and no silence or mute covers it. Its
next reminder is due one interval (the one it took when it opened, `domain.alerting`) after
`unattended_since`: when it opened or was shown, reopened, lost its acknowledgement, mute or
silence, or was last reminded. So acknowledging, silencing or resolving stops reminders, a
reminder never follows right after the issue needs attention again, and reminders a stopped
worker missed come as one, at the first tick back, not one per interval missed.

Only followed-up issues are reminded: a fire-and-forget issue is tracked to no end, and is
archived shortly after its last alert anyway.

`IssueReminders` is mixed into `Issue` (`domain.issue`), so reminding is the aggregate's own
command, `issue.remind(…)`, fired as a deadline (`domain.deadlines`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.issue_policy import IssuePolicy
from domain.issue_state import IssueFields, IssueState


class NoReminderDue(DomainError):
    """The issue is attended to (or has no reminders): there is nothing to remind of."""


class IssueReminders:
    """The reminders of `Issue`: their event and the command `remind`."""

    if TYPE_CHECKING:  # what reminders take from `Issue`, into which they are mixed
        state: IssueState  # its `Issue.State`, which the events change in place

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    class IssueReminded(Aggregate.Event):
        """Still open and unattended one interval on (`due_at`: when that interval ended)."""

        due_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            restart_reminders(cast(IssueReminders, aggregate).state, self.timestamp)

    def remind(self, *, due_at: datetime, at: datetime) -> None:
        """Remind people of the issue, which still waits for someone."""
        if reminder_due(self.state, IssuePolicy.of(self.state.last_alert)) is None:
            raise NoReminderDue(f"issue {self.state.id} has no reminder due")
        self.trigger_event(self.IssueReminded, timestamp=at, due_at=due_at)


def reminder_due(state: IssueState, policy: IssuePolicy) -> datetime | None:
    """When the issue's next reminder is due; None while it is attended to, or never."""
    interval = state.reminder_interval_seconds
    if interval is None or policy.fire_and_forget or not unattended(state):
        return None
    return (state.unattended_since or state.opened_at) + timedelta(seconds=interval)


def unattended(state: IssueFields) -> bool:
    """Open and shown, and nobody acknowledged, silenced or muted it (read from the state the
    fold keeps, or from an event's snapshot by the presenter)."""
    return (
        state.status == "open"
        and state.presentable
        and state.acknowledged_by is None
        and state.muted_by is None
        and state.silenced_until is None
    )


def restart_reminders(state: IssueState, at: datetime) -> None:
    """The issue needs attention (again) from `at`: its next reminder is an interval away.

    Called by the events that leave an issue unattended; harmless on one still attended to,
    whose reminders wait for the next such event anyway.
    """
    state.unattended_since = at
