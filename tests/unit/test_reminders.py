"""Reminders of open, unattended issues: a deadline the ticks fire, every interval.

The interval is the one the issue took when it opened (the partition's alerting settings of
the moment: its channel's own interval, if it has one); time is only ever the ticks' `at` and
the alerts' timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.alert import Alert
from domain.alerting import AlertingSettings
from domain.fold import (
    AlertReceived,
    Folded,
    FoldOutcome,
    InteractionReceived,
    SilencesChanged,
    TickReceived,
    fold_alert,
    fold_interaction,
    fold_silences,
    fold_tick,
)
from domain.interactions import Actor, Interaction, InteractionKind
from domain.issue_state import IssueState
from domain.records import InputPosition
from domain.silences import Matcher, Silence

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVERY_30_MIN = AlertingSettings(reminder_interval_seconds=1800)
# Every 30 minutes, but every 10 in C0FAST and never in C0QUIET.
WITH_CHANNELS_OF_THEIR_OWN = AlertingSettings(
    reminder_interval_seconds=1800,
    channel_reminder_interval_seconds={"C0FAST": 600, "C0QUIET": 0},
)
FOLLOWED = {"issueFollowUpEnabled": True, "autoResolveSeconds": 86400}
ALICE = Actor(kind="slack_user", id="U0ALICE", name="Alice")
offsets = iter(range(100_000))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def position(topic: str) -> InputPosition:
    return InputPosition(topic=topic, partition=0, offset=next(offsets))


class Issue:
    """One correlation id's state, fed inputs in order; `types` lists every event."""

    def __init__(
        self, settings: AlertingSettings = EVERY_30_MIN, channel: str = "C123", **fields: Any
    ) -> None:
        self.channel = channel
        self.state: IssueState | None = None
        self.log: list[Folded] = []
        self.alert(0, settings=settings, **{**FOLLOWED, **fields})

    def alert(
        self, minutes: float, settings: AlertingSettings = EVERY_30_MIN, **fields: Any
    ) -> Folded:
        body = {
            "slackChannelId": self.channel,
            "correlationId": "db",
            "header": "Database down",
            "timestamp": at(minutes).isoformat(),
            **FOLLOWED,
            **fields,
        }
        received = AlertReceived(
            Alert.from_json_obj(body), position("alerts"), at(minutes), settings=settings
        )
        return self._took(fold_alert(self.state, received))

    def tick(self, minutes: float) -> Folded:
        assert self.state is not None
        return self._took(fold_tick(self.state, TickReceived(at(minutes), position("ticks"))))

    def act(self, minutes: float, kind: InteractionKind) -> Folded:
        assert self.state is not None
        interaction = Interaction(
            interaction_id=f"i{next(offsets)}",
            kind=kind,
            channel_id=self.channel,
            correlation_id="db",
            issue_id=self.state.id,
            at=at(minutes),
            actor=ALICE,
        )
        received = InteractionReceived(interaction, position("interactions"))
        return self._took(fold_interaction(self.state, received))

    def silences(self, minutes: float, *silences: Silence) -> Folded:
        assert self.state is not None
        changed = SilencesChanged(tuple(silences), at(minutes), position("interactions"))
        return self._took(fold_silences(self.state, changed))

    def _took(self, folded: Folded) -> Folded:
        self.state = folded.state
        self.log.append(folded)
        return folded

    @property
    def reminders(self) -> list[datetime]:
        """When each reminder was decided (the tick's time)."""
        return [e.occurred_at for f in self.log for e in f.events if e.type == "IssueReminded"]


def silence(minutes: float, lasts: float) -> Silence:
    return Silence(
        id="s1",
        matchers=(Matcher(name="correlationId", value="db"),),
        starts_at=at(minutes),
        ends_at=at(minutes + lasts),
        created_by="ann",
    )


def test_an_unattended_issue_is_reminded_every_interval() -> None:
    issue = Issue()
    assert issue.tick(29).outcome is FoldOutcome.NOTHING_DUE
    reminded = issue.tick(30)
    assert [e.type for e in reminded.events] == ["IssueReminded"]
    assert reminded.events[0].data == {"due_at": at(30)}
    issue.tick(59)
    issue.tick(60)
    assert issue.reminders == [at(30), at(60)]


def test_the_issue_takes_its_interval_when_it_opens() -> None:
    issue = Issue()
    opened = issue.log[0].events[0]
    assert opened.data["reminder_interval_seconds"] == 1800
    issue.alert(10, settings=AlertingSettings())  # the settings changed since: not this issue
    issue.tick(30)
    assert issue.reminders == [at(30)]


def test_an_issue_in_a_channel_with_an_interval_of_its_own_is_reminded_at_that_one() -> None:
    fast = Issue(WITH_CHANNELS_OF_THEIR_OWN, channel="C0FAST")
    elsewhere = Issue(WITH_CHANNELS_OF_THEIR_OWN, channel="C0OTHER")
    assert fast.log[0].events[0].data["reminder_interval_seconds"] == 600
    for minute in (10, 20, 30):
        fast.tick(minute)
        elsewhere.tick(minute)
    assert fast.reminders == [at(10), at(20), at(30)]
    assert elsewhere.reminders == [at(30)]


def test_a_channel_with_reminders_off_is_never_reminded_while_the_others_are() -> None:
    quiet = Issue(WITH_CHANNELS_OF_THEIR_OWN, channel="C0QUIET")
    elsewhere = Issue(WITH_CHANNELS_OF_THEIR_OWN, channel="C0OTHER")
    assert quiet.log[0].events[0].data["reminder_interval_seconds"] is None
    for minute in range(0, 24 * 60, 30):
        quiet.tick(minute)
        elsewhere.tick(minute)
    assert quiet.reminders == []
    assert len(elsewhere.reminders) == 47


def test_a_channel_of_its_own_keeps_its_interval_when_the_others_have_none() -> None:
    settings = AlertingSettings(channel_reminder_interval_seconds={"C0FAST": 600})
    fast = Issue(settings, channel="C0FAST")
    elsewhere = Issue(settings, channel="C0OTHER")
    fast.tick(10)
    elsewhere.tick(24 * 60)
    assert (fast.reminders, elsewhere.reminders) == ([at(10)], [])


def test_without_an_interval_nothing_is_reminded() -> None:
    issue = Issue(settings=AlertingSettings())
    issue.tick(24 * 60)
    assert issue.reminders == []


def test_reminders_a_stopped_worker_missed_come_as_one_and_the_next_an_interval_later() -> None:
    issue = Issue()
    issue.tick(200)
    assert issue.reminders == [at(200)]
    issue.tick(229)
    issue.tick(230)
    assert issue.reminders == [at(200), at(230)]


def test_acknowledging_stops_reminders_and_unacknowledging_starts_the_wait_again() -> None:
    issue = Issue()
    issue.act(10, InteractionKind.ACKNOWLEDGED)
    issue.tick(120)
    assert issue.reminders == []
    issue.act(120, InteractionKind.UNACKNOWLEDGED)
    issue.tick(149)
    issue.tick(150)
    assert issue.reminders == [at(150)]


def test_a_silence_stops_reminders_until_it_ends() -> None:
    issue = Issue()
    issue.silences(10, silence(10, lasts=60))
    issue.tick(69)
    assert issue.reminders == []
    issue.tick(70)  # the silence ends: the wait for a reminder starts
    issue.tick(99)
    issue.tick(100)
    assert issue.reminders == [at(100)]


def test_muting_stops_reminders() -> None:
    issue = Issue()
    issue.act(10, InteractionKind.MUTED)
    issue.tick(300)
    assert issue.reminders == []
    issue.act(300, InteractionKind.UNMUTED)
    issue.tick(330)
    assert issue.reminders == [at(330)]


def test_resolving_stops_reminders_and_reopening_starts_the_wait_again() -> None:
    issue = Issue()
    issue.act(10, InteractionKind.RESOLVED)
    issue.tick(300)
    assert issue.reminders == []
    issue.alert(300)  # fires again: reopened
    issue.tick(329)
    issue.tick(330)
    assert issue.reminders == [at(330)]


def test_an_issue_resolving_at_a_reminders_instant_is_not_reminded() -> None:
    issue = Issue(autoResolveSeconds=1800)
    fired = issue.tick(30)
    assert [e.type for e in fired.events] == ["IssueResolved"]


def test_an_issue_held_back_is_reminded_an_interval_after_it_is_shown() -> None:
    issue = Issue(notificationDelaySeconds=3600)
    shown = issue.tick(60)
    assert [e.type for e in shown.events] == ["NotificationDelayElapsed"]
    issue.tick(89)
    issue.tick(90)
    assert issue.reminders == [at(90)]


def test_fire_and_forget_issues_are_not_reminded() -> None:
    issue = Issue(issueFollowUpEnabled=False)
    for minute in range(0, 40, 5):  # alerts keep the issue open
        issue.alert(minute, issueFollowUpEnabled=False)
        issue.tick(minute + 0.1)
    assert issue.reminders == []
