"""Deadlines fired by ticks: auto-resolve, escalation, notification delay, archiving.

Time is only ever the tick's `at` and the alerts' timestamps: every test sets both.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.alert import Alert
from domain.deadlines import DeadlineKind, deadlines_of, next_due
from domain.fold import AlertReceived, Folded, FoldOutcome, TickReceived, fold_alert, fold_tick
from domain.issue_state import IssueState
from domain.records import InputPosition
from domain.severity import Severity
from wire.issue_events import encode_issue_event

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FOLLOWED = {"issueFollowUpEnabled": True, "autoResolveSeconds": 120}


def alert(offset: int, seconds: int = 0, **fields: Any) -> AlertReceived:
    body: dict[str, Any] = {
        "slackChannelId": "C123",
        "correlationId": "db-down",
        "header": "Database down",
        "severity": "error",
        "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }
    return AlertReceived(
        alert=Alert.from_json_obj(body),
        position=InputPosition(topic="alerts", partition=3, offset=offset),
        received_at=T0 + timedelta(seconds=seconds),
    )


def tick(offset: int, seconds: float) -> TickReceived:
    return TickReceived(
        at=T0 + timedelta(seconds=seconds),
        position=InputPosition(topic="ticks", partition=3, offset=offset),
    )


class Channel:
    """One correlation id's state, fed alerts and ticks in order."""

    def __init__(self) -> None:
        self.state: IssueState | None = None
        self.log: list[Folded] = []

    def feed(self, *inputs: AlertReceived | TickReceived) -> Folded:
        for item in inputs:
            if isinstance(item, AlertReceived):
                folded = fold_alert(self.state, item)
            else:
                assert self.state is not None, "a tick only reaches issues that exist"
                folded = fold_tick(self.state, item)
            self.state = folded.state
            self.log.append(folded)
        return self.log[-1]

    @property
    def types(self) -> list[str]:
        return [event.type for folded in self.log for event in folded.events]


def opened(**fields: Any) -> Channel:
    channel = Channel()
    channel.feed(alert(0, **fields))
    return channel


# -- auto-resolve ------------------------------------------------------------------------


def test_followed_up_issue_resolves_itself_when_its_source_goes_quiet() -> None:
    channel = opened(**FOLLOWED)
    assert channel.feed(tick(0, 119)).outcome is FoldOutcome.NOTHING_DUE
    resolved = channel.feed(tick(1, 120))
    assert [e.type for e in resolved.events] == ["IssueResolved"]
    assert resolved.events[0].data["resolution"] == "auto"
    assert channel.state is not None
    assert channel.state.status == "resolved"
    assert channel.state.resolution == "auto"
    assert channel.state.resolved_at == T0 + timedelta(seconds=120)


def test_auto_resolve_is_inconclusive_when_the_alert_asks_for_it() -> None:
    channel = opened(**FOLLOWED, autoResolveAsInconclusive=True)
    resolved = channel.feed(tick(0, 500))
    assert resolved.events[0].issue.resolution == "inconclusive"


def test_each_new_alert_postpones_auto_resolve() -> None:
    channel = opened(**FOLLOWED)
    channel.feed(alert(1, 100, **FOLLOWED))
    assert channel.feed(tick(0, 200)).outcome is FoldOutcome.NOTHING_DUE
    assert channel.feed(tick(1, 220)).events[0].type == "IssueResolved"


def test_resolved_alert_resolves_at_once_without_waiting() -> None:
    channel = opened(**FOLLOWED)
    channel.feed(alert(1, 10, severity="resolved", **FOLLOWED))
    assert channel.state is not None and channel.state.resolution == "alert"


# -- escalation --------------------------------------------------------------------------

ESCALATION = [
    {"severity": "warning", "delaySeconds": 60},
    {"severity": "panic", "delaySeconds": 120, "slackMentions": ["<!here>"]},
]


def test_open_issue_escalates_at_each_point() -> None:
    channel = opened(**FOLLOWED, escalation=ESCALATION, severity="warning")
    assert channel.feed(tick(0, 59)).outcome is FoldOutcome.NOTHING_DUE
    first = channel.feed(tick(1, 60)).events[0]
    assert first.type == "IssueEscalated"
    assert first.data["level"] == 1 and first.data["severity"] == "warning"
    second = channel.feed(tick(2, 121)).events[0]
    assert second.data["level"] == 2
    assert second.issue.severity is Severity.PANIC
    assert second.issue.mentions == ["<!here>"]


def test_a_late_tick_skips_to_the_last_point_that_passed() -> None:
    channel = opened(**FOLLOWED, escalation=ESCALATION)
    events = channel.feed(tick(0, 119 + 1)).events
    escalations = [e for e in events if e.type == "IssueEscalated"]
    assert [e.data["level"] for e in escalations] == [2]


def test_escalated_severity_is_not_lowered_by_later_alerts() -> None:
    channel = opened(**FOLLOWED, escalation=ESCALATION, severity="warning")
    channel.feed(alert(1, 100, severity="warning", escalation=ESCALATION, **FOLLOWED))
    channel.feed(tick(0, 130))
    channel.feed(alert(2, 140, severity="warning", escalation=ESCALATION, **FOLLOWED))
    assert channel.state is not None and channel.state.severity is Severity.PANIC
    assert "SeverityChanged" not in channel.types


def test_informational_issues_never_escalate() -> None:
    channel = opened(escalation=ESCALATION, severity="info")
    assert "IssueEscalated" not in [e.type for e in channel.feed(tick(0, 25)).events]
    kinds = [d.kind for d in deadlines_of(_state(channel))]
    assert DeadlineKind.ESCALATION not in kinds


def test_escalation_carries_its_move_to_channel() -> None:
    points = [{"severity": "panic", "delaySeconds": 60, "moveToChannel": "c-oncall"}]
    channel = opened(**FOLLOWED, escalation=points)
    escalated = channel.feed(tick(0, 60)).events[0]
    assert escalated.data["move_to_channel"] == "C-ONCALL"


# -- notification delay --------------------------------------------------------------------


def test_issue_is_held_back_until_its_notification_delay_passes() -> None:
    channel = opened(notificationDelaySeconds=300, issueFollowUpEnabled=True)
    assert _state(channel).presentable is False
    assert channel.log[0].events[0].issue.presentable is False
    shown = channel.feed(tick(0, 300)).events
    assert [e.type for e in shown] == ["NotificationDelayElapsed"]
    assert shown[0].issue.presentable is True


def test_flapping_alert_resolved_before_the_delay_is_never_shown() -> None:
    channel = opened(notificationDelaySeconds=300, **FOLLOWED)
    channel.feed(alert(1, 30, severity="resolved", **FOLLOWED))
    channel.feed(tick(0, 400))
    assert "NotificationDelayElapsed" not in channel.types
    assert all(not e.issue.presentable for f in channel.log for e in f.events)


# -- archiving and follow-up ----------------------------------------------------------------


def test_resolved_issue_is_archived_after_its_archiving_delay() -> None:
    channel = opened(**FOLLOWED, archivingDelaySeconds=600)
    channel.feed(alert(1, 10, severity="resolved", **FOLLOWED, archivingDelaySeconds=600))
    assert channel.feed(tick(0, 609)).outcome is FoldOutcome.NOTHING_DUE
    archived = channel.feed(tick(1, 610))
    assert [e.type for e in archived.events] == ["IssueArchived"]
    assert archived.events[0].issue.status == "archived"
    assert archived.state is None


def test_archiving_delay_zero_means_twelve_hours() -> None:
    channel = opened(**FOLLOWED)
    channel.feed(alert(1, 10, severity="resolved", **FOLLOWED))
    assert next_due(channel.state) == T0 + timedelta(seconds=10, hours=12)


def test_resolved_issue_that_fires_again_within_the_window_reopens() -> None:
    channel = opened(**FOLLOWED)
    first_id = channel.log[0].events[0].issue_id
    channel.feed(tick(0, 120), tick(1, 3600))
    reopened = channel.feed(alert(1, 3700, **FOLLOWED))
    assert reopened.outcome is FoldOutcome.REOPENED
    assert reopened.events[0].issue_id == first_id


def test_an_archived_issue_never_reopens() -> None:
    channel = opened(**FOLLOWED, archivingDelaySeconds=60)
    first_id = channel.log[0].events[0].issue_id
    channel.feed(tick(0, 120), tick(1, 180))
    assert channel.state is None
    again = channel.feed(alert(1, 200, **FOLLOWED))
    assert again.outcome is FoldOutcome.OPENED
    assert again.events[0].issue_id != first_id


def test_fire_and_forget_issue_is_archived_thirty_seconds_after_its_last_alert() -> None:
    channel = opened()  # follow-up is off by default
    channel.feed(alert(1, 20))
    assert channel.feed(tick(0, 49)).outcome is FoldOutcome.NOTHING_DUE
    archived = channel.feed(tick(1, 50))
    assert [e.type for e in archived.events] == ["IssueArchived"]
    assert archived.events[0].data["reason"] == "fire_and_forget"
    assert "IssueResolved" not in channel.types


def test_info_alert_with_follow_up_opens_a_fire_and_forget_issue() -> None:
    channel = opened(**FOLLOWED, severity="info")
    kinds = [d.kind for d in deadlines_of(_state(channel))]
    assert kinds == [DeadlineKind.ARCHIVE]


# -- catching up and determinism ----------------------------------------------------------


def test_a_late_tick_fires_every_due_deadline_in_time_order() -> None:
    channel = opened(
        **FOLLOWED,
        escalation=[{"severity": "panic", "delaySeconds": 60}],
        notificationDelaySeconds=30,
        archivingDelaySeconds=60,
    )
    events = channel.feed(tick(0, 10_000)).events
    assert [e.type for e in events] == [
        "NotificationDelayElapsed",
        "IssueEscalated",
        "IssueResolved",
        "IssueArchived",
    ]
    assert [e.version for e in events] == [2, 3, 4, 5]
    assert [e.data.get("due_at") for e in events] == [
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=60),
        T0 + timedelta(seconds=120),
        T0 + timedelta(seconds=180),
    ]
    assert all(e.occurred_at == T0 + timedelta(seconds=10_000) for e in events)


def test_same_inputs_give_byte_identical_events() -> None:
    def run() -> list[bytes]:
        channel = opened(**FOLLOWED, escalation=ESCALATION)
        channel.feed(tick(0, 61), alert(1, 90, **FOLLOWED), tick(1, 500), tick(2, 90_000))
        return [encode_issue_event(e) for f in channel.log for e in f.events]

    assert run() == run()


def test_event_ids_are_unique_across_a_tick_and_name_issue_and_version() -> None:
    channel = opened(**FOLLOWED, escalation=ESCALATION, archivingDelaySeconds=60)
    events = channel.feed(tick(0, 10_000)).events
    ids = {e.event_id for e in events}
    assert [e.type for e in events] == ["IssueEscalated", "IssueResolved", "IssueArchived"]
    assert len(ids) == len(events)


@pytest.mark.parametrize("status", ["archived"])
def test_alert_on_a_stored_archived_state_opens_a_new_issue(status: str) -> None:
    channel = opened(**FOLLOWED)
    stored = _state(channel).model_copy(update={"status": status})
    folded = fold_alert(stored, alert(5, 50, **FOLLOWED))
    assert folded.outcome is FoldOutcome.OPENED


def _state(channel: Channel) -> IssueState:
    assert channel.state is not None
    return channel.state
