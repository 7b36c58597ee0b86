"""The notifier as a sink of the issue-event reader: events routed to the configured
channels, intents recorded with the positions, only new ones handed over for delivery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import DeliveryLog, Intent
from gateways.notify.notification_sink import NotificationSink
from gateways.notify.targets import WebhookTarget
from harness.stories import IssueStory
from infra.database import create_database_engine
from infra.secret_box import SecretBox
from projections.notification_routing import RoutingRule
from tests.unit.sink_batches import TOPIC, batch


class Notifier:
    """A notification sink on a SQLite database, with what it handed over."""

    def __init__(self, tmp_path: Path) -> None:
        self.engine = create_database_engine(f"sqlite:///{tmp_path}/notify.db")
        self.channels = ChannelStore(self.engine, SecretBox(os.urandom(32)))
        self.channels.create_schema()
        self.deliveries = DeliveryLog(self.engine)
        self.deliveries.create_schema()
        self.handed: list[Intent] = []
        self.sink = NotificationSink(self.channels, self.deliveries, self.handed.append)

    def add_webhook(self, channel_id: str, rule: RoutingRule | None = None) -> None:
        target = WebhookTarget(url=f"https://hooks.example/{channel_id}")
        channel = NotificationChannel(
            id=channel_id, name=channel_id, target=target, rule=rule or RoutingRule()
        )
        self.channels.create(channel)


@pytest.fixture
def notifier(tmp_path: Path) -> Iterator[Notifier]:
    made = Notifier(tmp_path)
    yield made
    made.engine.dispose()


def test_events_are_routed_to_the_channels_that_want_them_and_recorded_with_the_positions(
    notifier: Notifier,
) -> None:
    notifier.add_webhook("everything")
    notifier.add_webhook("payments", RoutingRule(slack_channels=("C-PAY",)))
    notifier.sink.read_channels()
    payments, ops = IssueStory("pay-1", "C-PAY"), IssueStory("ops-1", "C-OPS")
    opened, _grouped, resolved = payments.opened(), payments.grouped(), payments.resolved()
    ops_opened = ops.opened()
    records, next_offsets = batch([*payments.events, *ops.events])

    notifier.sink.apply(TOPIC, records, next_offsets)

    assert notifier.handed == [
        Intent("everything", "opened", opened, 0),
        Intent("payments", "opened", opened, 0),
        Intent("everything", "resolved", resolved, 0),
        Intent("payments", "resolved", resolved, 0),
        Intent("everything", "opened", ops_opened, 1),
    ]
    assert notifier.deliveries.state(opened.event_id, "payments") == "pending"
    assert notifier.deliveries.state(ops_opened.event_id, "payments") is None
    assert notifier.sink.positions(TOPIC, {0, 1}) == next_offsets


def test_a_batch_read_again_hands_over_nothing_twice(notifier: Notifier) -> None:
    notifier.add_webhook("everything")
    notifier.sink.read_channels()
    records, next_offsets = batch([IssueStory("i-1").opened(), IssueStory("i-2").opened()])
    notifier.sink.apply(TOPIC, records, next_offsets)
    handed = list(notifier.handed)

    notifier.sink.apply(TOPIC, records, next_offsets)  # the positions were lost meanwhile

    assert notifier.handed == handed
    assert len(handed) == 2


def test_channels_added_later_are_routed_to_once_the_chore_read_them(notifier: Notifier) -> None:
    notifier.sink.read_channels()
    [reading] = notifier.sink.chores()
    before, after = IssueStory("i-1"), IssueStory("i-2")
    records, next_offsets = batch([before.opened()])
    notifier.sink.apply(TOPIC, records, next_offsets)
    notifier.add_webhook("new")

    reading.work()
    records, next_offsets = batch([after.opened()], after=next_offsets)
    notifier.sink.apply(TOPIC, records, next_offsets)

    assert [(i.channel_id, i.event.issue_id) for i in notifier.handed] == [("new", "i-2")]
    assert notifier.sink.channel("new") is not None
    assert notifier.sink.channel("deleted-meanwhile") is None
