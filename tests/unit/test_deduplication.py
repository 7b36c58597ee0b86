"""The deduplication window: a fire-and-forget alert repeated inside it counts once.

The window is the one the issue took when it opened; time is only the alerts' timestamps
and the ticks' `at`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.alert import Alert
from domain.alerting import AlertingSettings
from domain.fold import AlertReceived, Folded, FoldOutcome, TickReceived, fold_alert, fold_tick
from domain.issue_state import IssueState
from domain.records import InputPosition

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIVE_MINUTES = AlertingSettings(deduplication_window_seconds=300)
offsets = iter(range(100_000))


class Channel:
    """One correlation id's state, fed alerts and ticks in order."""

    def __init__(self, settings: AlertingSettings = FIVE_MINUTES) -> None:
        self.settings = settings
        self.state: IssueState | None = None
        self.log: list[Folded] = []

    def alert(self, seconds: float, **fields: Any) -> Folded:
        body = {
            "slackChannelId": "C123",
            "correlationId": "disk",
            "header": "Disk 91% full",
            "text": "/var on db-1",
            "severity": "warning",
            "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
            **fields,
        }
        received = AlertReceived(
            Alert.from_json_obj(body),
            InputPosition(topic="alerts", partition=0, offset=next(offsets)),
            T0 + timedelta(seconds=seconds),
            settings=self.settings,
        )
        return self._took(fold_alert(self.state, received))

    def tick(self, seconds: float) -> Folded:
        assert self.state is not None
        position = InputPosition(topic="ticks", partition=0, offset=next(offsets))
        tick = TickReceived(T0 + timedelta(seconds=seconds), position)
        return self._took(fold_tick(self.state, tick))

    def _took(self, folded: Folded) -> Folded:
        self.state = folded.state
        self.log.append(folded)
        return folded

    @property
    def types(self) -> list[str]:
        return [e.type for f in self.log for e in f.events]


def test_a_repeat_inside_the_window_counts_once() -> None:
    channel = Channel()
    channel.alert(0)
    repeat = channel.alert(60)
    assert repeat.outcome is FoldOutcome.IGNORED_REPEAT
    assert repeat.events == []
    assert channel.state is not None and channel.state.alert_count == 1
    assert channel.types == ["IssueOpened"]


def test_the_issue_stays_open_through_the_window_then_a_repeat_opens_a_new_one() -> None:
    channel = Channel()
    first = channel.alert(0).events[0].issue_id
    for seconds in (60, 120, 180, 240):
        channel.tick(seconds)
        assert channel.alert(seconds + 1).outcome is FoldOutcome.IGNORED_REPEAT
    archived = channel.tick(300)  # the window passed since the last counted alert
    assert [e.type for e in archived.events] == ["IssueArchived"]
    reopened = channel.alert(301)
    assert reopened.outcome is FoldOutcome.OPENED
    assert reopened.events[0].issue_id != first


def test_a_repeat_does_not_restart_the_window() -> None:
    channel = Channel()
    channel.alert(0)
    channel.alert(290)
    assert channel.alert(300).outcome is FoldOutcome.GROUPED  # outside: counted


def test_another_alert_joins_the_issue_and_starts_the_window_again() -> None:
    channel = Channel()
    channel.alert(0)
    assert channel.alert(100, text="/var and /tmp on db-1").outcome is FoldOutcome.GROUPED
    assert channel.alert(200, severity="error").outcome is FoldOutcome.GROUPED
    assert channel.alert(210, severity="error").outcome is FoldOutcome.IGNORED_REPEAT
    assert channel.tick(499).outcome is FoldOutcome.NOTHING_DUE
    assert [e.type for e in channel.tick(500).events] == ["IssueArchived"]


def test_followed_up_alerts_are_never_deduplicated() -> None:
    channel = Channel()
    channel.alert(0, issueFollowUpEnabled=True)
    assert channel.alert(60, issueFollowUpEnabled=True).outcome is FoldOutcome.GROUPED
    assert channel.state is not None and channel.state.alert_count == 2


def test_without_a_window_repeats_count_and_the_issue_is_archived_after_30_s() -> None:
    """Slack Manager's fire-and-forget rules."""
    channel = Channel(settings=AlertingSettings())
    channel.alert(0)
    assert channel.alert(10).outcome is FoldOutcome.GROUPED
    assert [e.type for e in channel.tick(40).events] == ["IssueArchived"]


def test_a_window_shorter_than_30_s_keeps_the_30_s_archive() -> None:
    channel = Channel(settings=AlertingSettings(deduplication_window_seconds=10))
    channel.alert(0)
    assert channel.alert(5).outcome is FoldOutcome.IGNORED_REPEAT
    assert channel.alert(15).outcome is FoldOutcome.GROUPED
    assert channel.tick(44).outcome is FoldOutcome.NOTHING_DUE
    assert [e.type for e in channel.tick(45).events] == ["IssueArchived"]
