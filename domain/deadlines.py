"""When an issue next needs attention without any new alert: its deadlines.

Deadlines are not stored separately: they follow from the issue's state and the policy of its
latest alert, so they survive restarts with the state and can never disagree with it. Ticks
fire them (see `domain.fold.fold_tick`); the worker only uses `next_due` to know which issues
a tick must look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.deduplication import fire_and_forget_archive_delay
from domain.issue_policy import FIRE_AND_FORGET_ARCHIVE_DELAY, EscalationStep, IssuePolicy
from domain.issue_reminders import reminder_due
from domain.issue_state import IssueState
from domain.severity import Severity


class DeadlineKind(StrEnum):
    SILENCE_END = "silence_end"
    SILENCE_START = "silence_start"
    NOTIFICATION = "notification"
    ESCALATION = "escalation"
    AUTO_RESOLVE = "auto_resolve"
    REMINDER = "reminder"
    ARCHIVE = "archive"


# Deadlines due at the same instant fire in this order: silences end and start before
# anything is shown, an issue is shown before it escalates, escalates before it resolves,
# resolves before a reminder (which resolving makes needless), and is archived last.
_RANK = {kind: rank for rank, kind in enumerate(DeadlineKind)}


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due_at: datetime

    @property
    def order(self) -> tuple[datetime, int]:
        return self.due_at, _RANK[self.kind]


def deadlines_of(state: IssueState) -> list[Deadline]:
    """Every deadline the issue has now, earliest first."""
    policy = IssuePolicy.of(state.last_alert)
    found: list[Deadline] = []
    if state.status != "archived":
        if state.silenced_until is not None:
            found.append(Deadline(DeadlineKind.SILENCE_END, state.silenced_until))
        if state.silence_starts_at is not None:
            found.append(Deadline(DeadlineKind.SILENCE_START, state.silence_starts_at))
    if state.status == "open":
        if state.held_until is not None:
            found.append(Deadline(DeadlineKind.NOTIFICATION, state.held_until))
        step = next_escalation(state, policy)
        if step is not None:
            found.append(Deadline(DeadlineKind.ESCALATION, state.opened_at + step.delay))
        reminder_at = reminder_due(state, policy)
        if reminder_at is not None:
            found.append(Deadline(DeadlineKind.REMINDER, reminder_at))
        if policy.fire_and_forget:
            archive_at = state.last_alert_at + fire_and_forget_archive_delay(state)
            found.append(Deadline(DeadlineKind.ARCHIVE, archive_at))
        else:
            resolve_at = state.last_alert_at + policy.auto_resolve_after
            found.append(Deadline(DeadlineKind.AUTO_RESOLVE, resolve_at))
    elif state.status == "resolved":
        if policy.follow_up and state.resolved_at is not None:
            archive_at = state.resolved_at + policy.archive_after
        else:
            archive_at = state.last_alert_at + FIRE_AND_FORGET_ARCHIVE_DELAY
        found.append(Deadline(DeadlineKind.ARCHIVE, archive_at))
    return sorted(found, key=lambda deadline: deadline.order)


def next_due(state: IssueState | None) -> datetime | None:
    """The earliest deadline, or None when nothing will happen to the issue by itself."""
    if state is None:
        return None
    deadlines = deadlines_of(state)
    return deadlines[0].due_at if deadlines else None


def next_escalation(state: IssueState, policy: IssuePolicy) -> EscalationStep | None:
    """The escalation point not yet applied.

    Informational issues never escalate, and neither do acknowledged ones: someone is on it.
    """
    if state.severity is Severity.INFO or state.acknowledged_by is not None:
        return None
    if state.escalation_level >= len(policy.escalation):
        return None
    return policy.escalation[state.escalation_level]


def escalation_due(
    state: IssueState, policy: IssuePolicy, now: datetime
) -> tuple[int, EscalationStep] | None:
    """The last point whose delay has passed (Slack Manager skips to it), 1-based."""
    due: tuple[int, EscalationStep] | None = None
    for index in range(state.escalation_level, len(policy.escalation)):
        step = policy.escalation[index]
        if state.opened_at + step.delay <= now:
            due = (index + 1, step)
    return due
