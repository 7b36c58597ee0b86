"""The `Issue` aggregate: correlated alerts of one channel folded into one thing to act on.

Command methods are actions (`open`, `group`, `resolve`, `reopen`, and the deadline commands
`end_notification_delay`, `escalate`, `auto_resolve`, `archive`); each triggers a past-tense
event whose `apply` is the only place state changes. Event ids, issue ids and timestamps are
always passed in, never drawn from a clock or a random source, so folding the same inputs
again yields the same events (DESIGN.md invariant 3).

What people do to an issue, its arrival after a move, its silencing and its reminders are
the aggregate's own commands and events too, each kept in its own module as a mixin:
`IssueActs` (`issue.act`, `issue.move_by_escalation`), `IssueArrivals` (`issue.arrive`),
`IssueSilencing` (`issue.reconsider_silence`) and `IssueReminders` (`issue.remind`). The
`eventsourcing` metaclass redefines the event classes nested in a base class on `Issue` as
it does those defined here (subclasses of `Issue.Event`, under the same names), and the
mixins trigger them through `self`, so every event is an `Issue.<Event>` and its name, the
`type` on `issue-events`, stays the class name.

The issue's fields are those of `IssueState` (`domain.issue_state`, where they are defined
once): the aggregate holds one as `state`, which its events change in place; `to_state` and
`snapshot` copy it out and `from_state` copies a stored one in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import ConfigDict

from domain.alert import Alert
from domain.alerting import OFF, AlertingSettings
from domain.issue_acts import IssueActs
from domain.issue_moves import IssueArrivals
from domain.issue_policy import EscalationStep, IssuePolicy
from domain.issue_reminders import IssueReminders, restart_reminders
from domain.issue_rules import IssueRules
from domain.issue_silencing import IssueSilencing
from domain.issue_state import IssueSnapshot, IssueState, IssueStatus, Resolution
from domain.member_alerts import (
    MemberReport,
    firing_severity,
    is_new_occurrence,
    with_report,
)
from domain.severity import Severity
from domain.unvalidated import made_of


class Issue(IssueRules, IssueActs, IssueArrivals, IssueSilencing, IssueReminders, Aggregate):
    """One Slack message's worth of trouble: the alerts of a (channel, correlation id)."""

    class IssueOpened(Aggregate.Created):
        channel_id: str
        correlation_id: str
        alert: dict[str, Any]
        reminder_interval_seconds: int | None
        deduplication_window_seconds: int | None

    class AlertGrouped(Aggregate.Event):
        alert: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            cast(Issue, aggregate)._take_alert(self.alert, self.timestamp)

    class SeverityChanged(Aggregate.Event):
        """`member`: the fingerprint of the member alert whose report changed it, if any."""

        previous: str
        severity: str
        member: str | None

        def apply(self, aggregate: Aggregate) -> None:
            cast(Issue, aggregate).state.severity = Severity(self.severity)

    class IssueResolved(Aggregate.Event):
        """Resolved by a `resolved` alert (`alert` set) or by the auto-resolve deadline."""

        alert: dict[str, Any] | None
        resolution: str
        due_at: datetime | None

        def apply(self, aggregate: Aggregate) -> None:
            issue = cast(Issue, aggregate)
            if self.alert is not None:
                issue._take_alert(self.alert, self.timestamp)
            state = issue.state
            state.status = "resolved"
            state.severity = Severity.RESOLVED
            # Auto-resolved issues resolved when their time ran out, not when a tick noticed.
            state.resolved_at = self.due_at or self.timestamp
            state.resolution = cast(Resolution, self.resolution)
            state.held_until = None  # resolved before it was shown: it never will be

    class IssueReopened(Aggregate.Event):
        alert: dict[str, Any]
        severity: str

        def apply(self, aggregate: Aggregate) -> None:
            issue = cast(Issue, aggregate)
            issue._take_alert(self.alert, self.timestamp)
            state = issue.state
            state.status = "open"
            state.severity = Severity(self.severity)
            state.resolved_at = None
            state.resolution = None
            if not state.presentable:
                state.held_until = _hold_until(self.alert, self.timestamp)
                state.presentable = state.held_until is None
            restart_reminders(state, self.timestamp)

    class NotificationDelayElapsed(Aggregate.Event):
        """The issue stayed open through its notification delay: now it may be shown."""

        due_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            state = cast(Issue, aggregate).state
            state.held_until = None
            state.presentable = True
            restart_reminders(state, self.timestamp)

    class IssueEscalated(Aggregate.Event):
        """Still open at an escalation point: its severity, mentions, and maybe a move."""

        level: int
        previous: str
        severity: str
        mentions: list[str]
        move_to_channel: str
        due_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            state = cast(Issue, aggregate).state
            state.escalation_level = self.level
            state.severity = Severity(self.severity)
            state.mentions = list(self.mentions)

    class IssueArchived(Aggregate.Event):
        """Closed for good: a later alert with the same correlation id opens a new issue."""

        reason: str
        due_at: datetime

        def apply(self, aggregate: Aggregate) -> None:
            state = cast(Issue, aggregate).state
            state.status = "archived"
            state.archived_at = self.timestamp
            state.held_until = None

    class State(IssueState):
        """The issue's state as its events change it, in place; `to_state` copies it out."""

        model_config = ConfigDict(frozen=False)

    def __init__(
        self,
        channel_id: str,
        correlation_id: str,
        alert: dict[str, Any],
        reminder_interval_seconds: int | None,
        deduplication_window_seconds: int | None,
    ) -> None:
        held_until = _hold_until(alert, self.created_on)
        # Every field not given starts at its default in `IssueState`.
        self.state = Issue.State(
            id=str(self.id),
            version=self.version,
            channel_id=channel_id,
            correlation_id=correlation_id,
            status="open",
            severity=_severity_of(alert),
            alert_count=0,
            opened_at=self.created_on,
            updated_at=self.created_on,
            last_alert=alert,
            last_alert_at=self.created_on,
            held_until=held_until,
            presentable=held_until is None,
            reminder_interval_seconds=reminder_interval_seconds,
            deduplication_window_seconds=deduplication_window_seconds,
            unattended_since=self.created_on,
        )
        self._take_alert(alert, self.created_on)
        self._shown: list[IssueSnapshot] = [self.snapshot()]

    # Commands ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, alert: Alert, *, issue_id: UUID, at: datetime, settings: AlertingSettings = OFF
    ) -> Issue:
        """Open an issue for the first alert of a (channel, correlation id), with the
        partition's alerting settings of the moment (`domain.alerting`): the channel's own
        reminder interval, if it has one."""
        channel_id = alert.slack_channel_id or ""
        issue = cls._create(
            cls.IssueOpened,
            id=issue_id,
            timestamp=at,
            channel_id=channel_id,
            correlation_id=alert.correlation_id,
            alert=alert.to_json_obj(),
            reminder_interval_seconds=settings.reminder_interval_for(channel_id),
            deduplication_window_seconds=settings.deduplication_window_seconds,
        )
        return issue

    def group(self, alert: Alert, *, at: datetime) -> None:
        """Add an alert to this open issue; its severity becomes the issue's, or for a member
        alert the highest of the firing members'.

        After an escalation a lower severity is raised to the escalated one, as Slack
        Manager does: a flapping source must not quietly undo an escalation.
        """
        self.check_open()
        previous = self.state.severity
        body = alert.to_json_obj()
        report = MemberReport.of(body)
        severity = self._raised(self._severity_with(alert, report, at))
        self.trigger_event(self.AlertGrouped, timestamp=at, alert=body)
        if severity is not previous:
            self.trigger_event(
                self.SeverityChanged,
                timestamp=at,
                previous=previous.value,
                severity=severity.value,
                member=report.fingerprint if report is not None else None,
            )

    def resolve(self, alert: Alert, *, at: datetime) -> None:
        """Close this issue because its source said the problem is gone."""
        self.check_open()
        self.trigger_event(
            self.IssueResolved,
            timestamp=at,
            alert=alert.to_json_obj(),
            resolution="alert",
            due_at=None,
        )

    def reopen(self, alert: Alert, *, at: datetime) -> None:
        """Bring a resolved issue back because the problem fired again."""
        self.check_resolved()
        body = alert.to_json_obj()
        severity = self._severity_with(alert, MemberReport.of(body), at)
        self.trigger_event(
            self.IssueReopened,
            timestamp=at,
            alert=body,
            severity=self._raised(severity).value,
        )

    def end_notification_delay(self, *, due_at: datetime, at: datetime) -> None:
        """Let presenters show the issue: it outlived its notification delay."""
        self.check_open()
        self.trigger_event(self.NotificationDelayElapsed, timestamp=at, due_at=due_at)

    def escalate(self, level: int, step: EscalationStep, *, due_at: datetime, at: datetime) -> None:
        """Apply escalation point number `level` (1-based) of the latest alert."""
        self.check_open()
        self.trigger_event(
            self.IssueEscalated,
            timestamp=at,
            level=level,
            previous=self.state.severity.value,
            severity=step.severity.value,
            mentions=list(step.mentions),
            move_to_channel=step.move_to_channel,
            due_at=due_at,
        )

    def auto_resolve(self, *, due_at: datetime, at: datetime) -> None:
        """Resolve an issue whose source went quiet for its auto-resolve time."""
        self.check_open()
        inconclusive = self.policy.resolve_as_inconclusive
        self.trigger_event(
            self.IssueResolved,
            timestamp=at,
            alert=None,
            resolution="inconclusive" if inconclusive else "auto",
            due_at=due_at,
        )

    def archive(self, reason: str, *, due_at: datetime, at: datetime) -> None:
        """Close the issue for good; it can no longer reopen."""
        self.check_not_archived()
        self.trigger_event(self.IssueArchived, timestamp=at, reason=reason, due_at=due_at)

    @property
    def last_alert_severity(self) -> Severity:
        """The severity the issue returns to when reopened by hand."""
        severity = _severity_of(self.state.last_alert)
        return severity if severity.is_firing else Severity.ERROR

    @property
    def policy(self) -> IssuePolicy:
        """Deadline settings, from the latest alert as Slack Manager takes them."""
        return IssuePolicy.of(self.state.last_alert)

    def _severity_with(self, alert: Alert, report: MemberReport | None, at: datetime) -> Severity:
        """The severity the alert gives the issue: its own, or for a member alert the highest
        among the members firing once it is taken in."""
        if report is None:
            return alert.severity
        members = with_report(self.state.members, report, at)
        return firing_severity(members) or alert.severity

    def _raised(self, severity: Severity) -> Severity:
        current = self.state.severity
        if self.state.escalation_level and severity.priority < current.priority:
            return current
        return severity

    # State ------------------------------------------------------------------------------

    # What the fold asks of the issue it holds; everything else is read from `state`.
    @property
    def status(self) -> IssueStatus:
        return self.state.status

    @property
    def channel_id(self) -> str:
        return self.state.channel_id

    @property
    def correlation_id(self) -> str:
        return self.state.correlation_id

    def _take_alert(self, alert: dict[str, Any], at: datetime) -> None:
        """Make the alert the latest; a member alert also updates its member, and counts only
        as a new occurrence. Its time is when it was received (`at`): a re-sent member keeps
        the `startsAt` of long ago."""
        state = self.state
        state.last_alert = alert
        report = MemberReport.of(alert)
        if report is None:
            state.last_alert_at = _alert_time(alert, at)
            state.alert_count += 1
            return
        state.last_alert_at = at
        if is_new_occurrence(state.members, report):
            state.alert_count += 1
        state.members = with_report(state.members, report, at)
        state.truncated_alerts = report.truncated_alerts

    def snapshot(self) -> IssueSnapshot:
        """The issue as read models and presenters see it."""
        return IssueSnapshot.of(self._latest())

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Trigger the event, and keep the issue as it is right after it: every event's record
        carries that snapshot, which would otherwise take replaying the events again."""
        super().trigger_event(event_class, **kwargs)
        self._shown.append(self.snapshot())

    def collect_decided(self) -> list[tuple[Any, IssueSnapshot]]:
        """The new events, each with the issue as it was right after it."""
        events = self.collect_events()
        shown, self._shown = self._shown[-len(events) :] if events else [], []
        return list(zip(events, shown, strict=True))

    def to_state(self) -> IssueState:
        """A frozen copy of the issue's state, as the fold stores it."""
        return made_of(IssueState, vars(self._latest()))

    def _latest(self) -> IssueState:
        """The state, with the version and time of the latest event (the aggregate's own)."""
        self.state.version = self.version
        self.state.updated_at = self.modified_on
        return self.state

    @classmethod
    def from_state(cls, state: IssueState) -> Issue:
        """Rebuild the aggregate from its stored state, without replaying its events."""
        issue = cls.__new__(cls)
        issue.__base_init__(UUID(state.id), state.version, state.opened_at)
        issue.modified_on = state.updated_at
        issue.state = made_of(Issue.State, vars(state))  # a model's vars are its fields
        issue._shown = []
        return issue


def _severity_of(alert: dict[str, Any]) -> Severity:
    return Severity(alert.get("severity") or Severity.ERROR)


def _hold_until(alert: dict[str, Any], at: datetime) -> datetime | None:
    delay = IssuePolicy.of(alert).notification_delay
    return at + delay if delay else None


def _alert_time(alert: dict[str, Any], fallback: datetime) -> datetime:
    raw = alert.get("timestamp")
    return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else fallback
