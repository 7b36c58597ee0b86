"""The notifier end to end: issue events on a real Kafka topic, channels and the delivery
log in real SQLite and PostgreSQL, webhooks received by a local HTTP server.

Each test uses its own topics, so tests neither see each other's records nor depend on order.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from pydantic import SecretStr

from app.composition import create_app
from domain.records import IssueEventRecord
from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import DeliveryLog, Intent, positions_table
from gateways.notify.dispatcher import NotificationDispatcher, delivery_id
from gateways.notify.retrying import RetryPolicy
from gateways.notify.targets import PagerDutyTarget, WebhookTarget
from harness.stories import IssueStory
from infra.database import create_database_engine
from infra.kafka_admin import ensure_topics
from infra.kafka_clients import KafkaConnection
from infra.secret_box import SecretBox
from infra.settings import load_settings
from infra.topology import topic_specs
from projections.notification_routing import RoutingRule
from tests.support.notify_servers import HttpReceiver, PagerDutyServer, running
from wire.issue_events import encode_issue_event
from wire.notification_dead_letters import NOTIFICATION_UNDELIVERED

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T = TypeVar("T")
FAST_RETRIES = RetryPolicy(attempts=3, first_backoff=0.01, max_backoff=0.05)


async def until(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """`eventually` for tests whose notifier runs on the test's own event loop."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last!r}")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/notify.db"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with running(HttpReceiver()) as server:
        yield server


@dataclass
class Notify:
    """The notifier's parts on one database and one pair of topics."""

    servers: str
    topic: str
    dlq_topic: str
    channels: ChannelStore
    deliveries: DeliveryLog
    engine: sa.Engine

    def dispatcher(self, *, http_timeout: float = 10.0) -> NotificationDispatcher:
        return NotificationDispatcher(
            KafkaConnection(self.servers),
            self.topic,
            self.dlq_topic,
            self.channels,
            self.deliveries,
            group_id=f"notifier-{self.topic}",
            policy=FAST_RETRIES,
            http_timeout=http_timeout,
            channel_refresh_interval=0.2,
        )

    def add_webhook(self, channel_id: str, url: str, **target: Any) -> NotificationChannel:
        channel = NotificationChannel(
            id=channel_id,
            name=channel_id,
            target=WebhookTarget(url=url, **target),
            rule=RoutingRule(),
        )
        return self.channels.create(channel)

    async def produce(self, *events: IssueEventRecord) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.servers, acks="all")
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(
                    self.topic, encode_issue_event(event), key=event.channel_id.encode()
                )
        finally:
            await producer.stop()

    async def dead_letters(self, count: int) -> list[dict[str, Any]]:
        consumer = AIOKafkaConsumer(
            self.dlq_topic, bootstrap_servers=self.servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + 20
            while len(found) < count and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                found.extend(json.loads(m.value) for ms in batch.values() for m in ms)
        finally:
            await consumer.stop()
        return found


@pytest.fixture
async def notify(kafka_bootstrap_servers: str, database_url: str) -> Notify:
    suffix = uuid.uuid4().hex[:10]
    topic, dlq = f"issue-events-{suffix}", f"notifications.dlq-{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=t, num_partitions=2, replication_factor=1) for t in (topic, dlq)]
        )
    finally:
        await admin.close()
    engine = create_database_engine(database_url)
    box = SecretBox(os.urandom(32))
    channels = ChannelStore(engine, box)
    channels.create_schema()
    deliveries = DeliveryLog(engine)
    deliveries.create_schema()
    return Notify(kafka_bootstrap_servers, topic, dlq, channels, deliveries, engine)


@asynccontextmanager
async def running_dispatcher(dispatcher: NotificationDispatcher) -> AsyncIterator[None]:
    task = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: dispatcher.ready or task.done(), "the notifier to be reading")
        if task.done():
            task.result()
        yield
    finally:
        await dispatcher.stop()
        await task


async def test_issue_events_reach_a_webhook_in_order_signed_with_stable_delivery_ids(
    notify: Notify, receiver: HttpReceiver
) -> None:
    notify.add_webhook("hook", f"{receiver.url}/hook", signing_secret=SecretStr("sign-me"))
    story = IssueStory(channel_id="C-PAY")
    opened, _grouped, resolved = story.opened(), story.grouped(), story.resolved()
    async with running_dispatcher(notify.dispatcher()):
        await notify.produce(*story.events)
        await until(lambda: len(receiver.requests) >= 2, "two deliveries")
    requests = receiver.requests
    assert [r.json()["kind"] for r in requests] == ["opened", "resolved"]
    assert [r.header("X-Alertfold-Delivery") for r in requests] == [
        delivery_id(opened.event_id, "hook"),
        delivery_id(resolved.event_id, "hook"),
    ]
    expected = hmac.new(b"sign-me", requests[0].body, hashlib.sha256).hexdigest()
    assert requests[0].header("X-Alertfold-Signature") == f"sha256={expected}"
    log = notify.deliveries.attempts(channel_id="hook")
    assert [(a["event_id"], a["ok"], a["attempt"]) for a in log] == [
        (resolved.event_id, True, 1),
        (opened.event_id, True, 1),
    ]
    assert notify.deliveries.state(opened.event_id, "hook") == "delivered"


async def test_a_failing_channel_is_retried_then_dead_lettered_with_the_reason(
    notify: Notify, receiver: HttpReceiver
) -> None:
    notify.add_webhook("flaky", f"{receiver.url}/flaky")
    receiver.fail_next(FAST_RETRIES.attempts, status=503)
    opened = IssueStory(channel_id="C-OPS").opened()
    counted = {name: metric(name, channel="flaky") for name in FLAKY_METRICS}
    async with running_dispatcher(notify.dispatcher()):
        await notify.produce(opened)
        [letter] = await notify.dead_letters(1)
    assert len(receiver.requests) == FAST_RETRIES.attempts
    assert letter["type"] == NOTIFICATION_UNDELIVERED
    assert letter["channel_id"] == "flaky" and letter["attempts"] == FAST_RETRIES.attempts
    assert "503" in letter["reason"] and letter["status_code"] == 503
    assert letter["delivery_id"] == delivery_id(opened.event_id, "flaky")
    assert letter["event"]["event_id"] == opened.event_id
    attempts = notify.deliveries.attempts(channel_id="flaky", ok=False)
    assert sorted(a["attempt"] for a in attempts) == [1, 2, 3]
    assert notify.deliveries.state(opened.event_id, "flaky") == "failed"
    assert {name: metric(name, channel="flaky") - counted[name] for name in FLAKY_METRICS} == {
        "alertfold_notification_retries_total": FAST_RETRIES.attempts - 1,
        "alertfold_notification_dead_letters_total": 1,
    }
    assert metric("alertfold_notifications_total", channel="flaky", outcome="failed") >= 1


FLAKY_METRICS = (
    "alertfold_notification_retries_total",
    "alertfold_notification_dead_letters_total",
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_restarted_notifier_never_delivers_an_event_twice_even_from_the_start(
    notify: Notify, receiver: HttpReceiver
) -> None:
    notify.add_webhook("hook", f"{receiver.url}/hook")
    first, second = IssueStory("issue-a"), IssueStory("issue-b")
    async with running_dispatcher(notify.dispatcher()):
        await notify.produce(first.opened(), second.opened())
        await until(lambda: len(receiver.requests) >= 2, "the first two deliveries")
    # Lose the stored positions: the next notifier re-reads the topic from the beginning,
    # and only the ledger stands between it and a second delivery.
    with notify.engine.begin() as conn:
        conn.execute(positions_table.delete())
    restarted = notify.dispatcher()
    async with running_dispatcher(restarted):
        await notify.produce(first.resolved())
        await until(lambda: len(receiver.requests) >= 3, "the delivery after the restart")
        await until(
            lambda: sum(restarted.positions.values()) >= 3, "the notifier to pass every event"
        )
    ids = [r.header("X-Alertfold-Delivery") for r in receiver.requests]
    assert len(ids) == 3 and len(set(ids)) == 3


async def test_a_hanging_channel_does_not_delay_a_healthy_one(
    notify: Notify, receiver: HttpReceiver
) -> None:
    with running(HttpReceiver()) as dead:
        dead.hang_next(10, seconds=60)
        notify.add_webhook("dead", f"{dead.url}/dead")
        notify.add_webhook("healthy", f"{receiver.url}/healthy")
        stories = [IssueStory(f"issue-{n}", channel_id="C-ONE") for n in range(3)]
        started = time.monotonic()
        async with running_dispatcher(notify.dispatcher(http_timeout=60)):
            await notify.produce(*(story.opened() for story in stories))
            await until(lambda: len(receiver.requests) >= 3, "the healthy channel's deliveries")
            elapsed = time.monotonic() - started
            assert len(dead.requests) == 1  # still waiting on its first answer
    assert elapsed < 15
    assert [r.json()["issue"]["id"] for r in receiver.requests] == [s.issue_id for s in stories]


async def test_the_product_notifier_sends_to_channels_of_the_channels_file(
    kafka_bootstrap_servers: str, database_url: str, receiver: HttpReceiver, tmp_path: Path
) -> None:
    channels_file = tmp_path / "channels.json"
    target = {"kind": "webhook", "url": f"{receiver.url}/file", "bearer_token": "${HOOK_TOKEN}"}
    channels_file.write_text(json.dumps({"channels": [{"id": "f", "name": "F", "target": target}]}))
    os.environ["HOOK_TOKEN"] = "token-from-env"
    try:
        settings = load_settings(
            {
                "DATABASE_URL": database_url,
                "ALERTFOLD_TOPIC_PREFIX": f"n{uuid.uuid4().hex[:8]}.",
                "ALERTFOLD_PARTITIONS": "2",
                "ALERTFOLD_SECRETS_KEY": base64.b64encode(os.urandom(32)).decode(),
                "ALERTFOLD_NOTIFICATION_CHANNELS_FILE": str(channels_file),
            }
        )
        alertfold = create_app(settings, bootstrap_servers=kafka_bootstrap_servers)
        notifier = alertfold.notifier()
    finally:
        del os.environ["HOOK_TOKEN"]
    await ensure_topics(KafkaConnection(kafka_bootstrap_servers), topic_specs(settings))
    assert settings.notifications_dlq_topic in {spec.name for spec in topic_specs(settings)}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    opened = IssueStory(channel_id="C-FILE").opened()
    async with running_dispatcher(notifier):
        await producer.start()
        try:
            await producer.send_and_wait(
                settings.issue_events_topic, encode_issue_event(opened), key=b"C"
            )
        finally:
            await producer.stop()
        [request] = await until(lambda: receiver.requests, "the file channel's delivery")
    assert request.header("Authorization") == "Bearer token-from-env"


def test_after_a_crash_unstarted_intents_are_resumed_and_interrupted_ones_are_not(
    database_url: str,
) -> None:
    deliveries = DeliveryLog(create_database_engine(database_url))
    deliveries.create_schema()
    first, second = IssueStory("issue-a").opened(), IssueStory("issue-b").opened()
    intents = [Intent("hook", "opened", first, 0), Intent("hook", "opened", second, 0)]
    assert deliveries.record_intents("t", intents, {0: 2}) == intents
    assert deliveries.record_intents("t", intents, {0: 2}) == []  # already in the ledger
    assert deliveries.claim(intents[0])  # the crash came while sending this one
    assert deliveries.take_over({1}) == []  # another partition's
    assert deliveries.take_over({0}) == [intents[1]]
    assert deliveries.state(first.event_id, "hook") == "interrupted"
    assert deliveries.positions("t") == {0: 2}


async def test_an_ack_in_slack_reaches_pagerduty_but_pagerdutys_own_ack_is_not_echoed(
    notify: Notify,
) -> None:
    """Ack sync, alertfold → PagerDuty half; the other half is `POST /pagerduty/webhook`."""
    with running(PagerDutyServer()) as pagerduty:
        notify.channels.create(
            NotificationChannel(
                id="pd",
                name="on-call",
                target=PagerDutyTarget(
                    routing_key=SecretStr("R" * 32), events_url=f"{pagerduty.url}/v2/enqueue"
                ),
                rule=RoutingRule(),
            )
        )
        story = IssueStory(channel_id="C-DB")
        opened = story.opened()
        by_slack = acted(opened, "IssueAcknowledged", {"kind": "slack_user", "id": "U1"})
        unacked = acted(by_slack, "IssueUnacknowledged", {"kind": "slack_user", "id": "U1"})
        by_pagerduty = acted(unacked, "IssueAcknowledged", {"kind": "pagerduty", "id": "P1"})
        resolved = acted(by_pagerduty, "IssueResolvedByHand", {"kind": "slack_user", "id": "U1"})
        async with running_dispatcher(notify.dispatcher()):
            await notify.produce(opened, by_slack, unacked, by_pagerduty, resolved)
            await until(lambda: len(pagerduty.events) >= 4, "four PagerDuty events")
            await until(
                lambda: notify.deliveries.state(resolved.event_id, "pd") == "delivered",
                "the resolve to be logged",
            )
    actions = [e["event_action"] for e in pagerduty.events]
    assert actions == ["trigger", "acknowledge", "trigger", "resolve"]
    assert {e["dedup_key"] for e in pagerduty.events} == {opened.issue_id}
    assert pagerduty.alerts[opened.issue_id] == "resolved"


def acted(previous: IssueEventRecord, type: str, actor: dict[str, str]) -> IssueEventRecord:
    """The next event of the issue: someone acted on it (`data.actor`)."""
    return previous.model_copy(
        update={
            "type": type,
            "version": previous.version + 1,
            "event_id": f"{previous.issue_id}:{previous.version + 1}",
            "data": {"actor": actor, "interaction_id": f"i-{previous.version + 1}"},
        }
    )
