"""Several notifiers at once: no notification delivered twice, none lost.

The notifiers' readers share the partitions of `issue-events` in one consumer group; the
delivery ledger decides the rest. Here on the real broker, in real SQLite and PostgreSQL:
two recording the same intents at once, two dispatchers while partitions move between them
(one joining, one leaving mid-flow), and two `alertfold notifier` processes of which one is
killed (SIGKILL) while it is sending.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from domain.records import IssueEventRecord
from gateways.notify.channel_store import ChannelStore
from gateways.notify.delivery_log import DeliveryLog, Intent, ledger_table
from harness.product import product_environment
from harness.stories import IssueStory
from harness.waiting import eventually
from infra.database import create_database_engine
from infra.secret_box import SecretBox
from tests.integration.test_notifier import Notify, running_dispatcher, until
from tests.support.notify_servers import HttpReceiver, ReceivedRequest, running
from wire.issue_events import encode_issue_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PARTITIONS = 4
CHANNELS = [f"C{n:02d}" for n in range(12)]  # spread over every partition


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/notify.db"
    return str(request.getfixturevalue("fresh_postgres_url"))


class PacedReceiver(HttpReceiver):
    """A webhook receiver that takes a moment to answer, and can hold every answer back
    (`close`) until it is opened again, keeping each sender's request in flight."""

    def __init__(self, seconds: float = 0.005) -> None:
        super().__init__()
        self.seconds = seconds
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0

    async def answer(self, request: ReceivedRequest) -> web.Response:
        await asyncio.sleep(self.seconds)
        if not self.gate.is_set():
            with self.lock:
                self.held += 1
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        return await super().answer(request)

    def delivery_ids(self) -> Counter[str]:
        return Counter(r.header("X-Alertfold-Delivery") or "" for r in self.requests)


@pytest.fixture
def receiver() -> Iterator[PacedReceiver]:
    with running(PacedReceiver()) as server:
        yield server


def stories(wave: str, count: int) -> list[IssueStory]:
    return [IssueStory(f"{wave}-{n}", CHANNELS[n % len(CHANNELS)]) for n in range(count)]


def ledger_states(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(state for (state,) in conn.execute(sa.select(ledger_table.c.state)))


# -- the ledger ----------------------------------------------------------------------------


def test_of_two_notifiers_recording_and_claiming_the_same_intents_at_once_one_gets_each(
    database_url: str,
) -> None:
    logs = [DeliveryLog(create_database_engine(database_url)) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:  # both start on an empty database at once
        list(pool.map(lambda log: log.create_schema(), logs))
    intents = [Intent("hook", "opened", story.opened(), 0) for story in stories("i", 200)]
    batches = [intents[start : start + 20] for start in range(0, len(intents), 20)]
    both = threading.Barrier(2)

    def record(log: DeliveryLog) -> list[Intent]:
        fresh: list[Intent] = []
        for number, batch in enumerate(batches, 1):
            both.wait()
            fresh += log.record_intents("issue-events", batch, {0: number * 20})
        return fresh

    def claim(log: DeliveryLog) -> list[Intent]:
        claimed = []
        for intent in intents:
            both.wait()
            if log.claim(intent):
                claimed.append(intent)
        return claimed

    with ThreadPoolExecutor(2) as pool:
        recorded = list(pool.map(record, logs))
        claimed = list(pool.map(claim, logs))
    for shares in (recorded, claimed):
        assert sorted(i.key for share in shares for i in share) == sorted(i.key for i in intents)
    assert logs[0].positions("issue-events") == {0: len(intents)}


def test_an_older_ledger_gains_the_partition_column_and_its_waiting_rows_are_taken_over(
    database_url: str,
) -> None:
    engine = create_database_engine(database_url)
    before = sa.Table(
        ledger_table.name,
        sa.MetaData(),
        *(
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in ledger_table.columns
            if c.name != "partition"
        ),
    )
    before.create(engine)
    waiting = IssueStory("from-before").opened()
    with engine.begin() as conn:
        conn.execute(
            before.insert().values(
                event_id=waiting.event_id,
                channel_id="hook",
                issue_id=waiting.issue_id,
                kind="opened",
                event=waiting.model_dump_json(),
                state="pending",
                seq=1,
                recorded_at=waiting.occurred_at,
            )
        )

    deliveries = DeliveryLog(engine)
    deliveries.create_schema()

    assert deliveries.take_over({3}) == [Intent("hook", "opened", waiting, None)]
    fresh = Intent("hook", "opened", IssueStory("after").opened(), 3)
    assert deliveries.record_intents("issue-events", [fresh], {3: 1}) == [fresh]
    assert deliveries.take_over({3}) == [Intent("hook", "opened", waiting, None), fresh]


# -- two dispatchers -----------------------------------------------------------------------


@pytest.fixture
async def notify(kafka_bootstrap_servers: str, database_url: str) -> Notify:
    suffix = uuid.uuid4().hex[:10]
    topic, dlq = f"issue-events-{suffix}", f"notifications.dlq-{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name=t, num_partitions=PARTITIONS, replication_factor=1)
                for t in (topic, dlq)
            ]
        )
    finally:
        await admin.close()
    engine = create_database_engine(database_url)
    channels = ChannelStore(engine, SecretBox(os.urandom(32)))
    channels.create_schema()
    deliveries = DeliveryLog(engine)
    deliveries.create_schema()
    return Notify(kafka_bootstrap_servers, topic, dlq, channels, deliveries, engine)


async def test_two_notifiers_deliver_each_notification_once_while_partitions_move_between_them(
    notify: Notify, receiver: PacedReceiver
) -> None:
    notify.add_webhook("hook", f"{receiver.url}/hook")
    issues = stories("issue", 48)
    first, second = notify.dispatcher(), notify.dispatcher()
    expected = 0

    async def wave(events: list[IssueEventRecord]) -> None:
        nonlocal expected
        expected += len(events)
        await notify.produce(*events)

    async with running_dispatcher(first):
        await wave([story.opened() for story in issues])
        async with running_dispatcher(second):  # joins while the first is sending
            await wave([story.resolved() for story in issues])
            await until(lambda: len(receiver.requests) >= expected // 2, "half the deliveries")
        # The second left mid-flow: the first takes its partitions and what waits on them.
        await wave([story.reopened() for story in issues])
        await until(lambda: len(receiver.requests) >= expected, "every delivery", timeout=60)

    delivered = receiver.delivery_ids()
    assert len(delivered) == expected
    assert max(delivered.values()) == 1
    assert first.delivered + second.delivered == expected
    assert ledger_states(notify.engine) == {"delivered": expected}


# -- two processes, one killed -------------------------------------------------------------


class NotifierProcess:
    """`alertfold notifier`, with its log in its own file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "notifier"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=log_path.parent,
            )

    def partitions(self) -> set[int]:
        """The partitions it read last, as its log says (empty before it has any)."""
        assert self.process.poll() is None, self.log_path.read_text()
        found = re.findall(
            r"notifier: reading \S+ partitions \[([\d, ]*)\]", self.log_path.read_text()
        )
        return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(60)


@pytest.fixture
def channels_file(tmp_path: Path, receiver: PacedReceiver) -> Path:
    path = tmp_path / "channels.json"
    target = {"kind": "webhook", "url": f"{receiver.url}/hook"}
    path.write_text(json.dumps({"channels": [{"id": "hook", "name": "Hook", "target": target}]}))
    return path


def test_a_notifier_killed_while_sending_leaves_the_rest_to_the_other_with_nothing_lost_or_repeated(
    kafka_bootstrap_servers: str,
    database_url: str,
    receiver: PacedReceiver,
    channels_file: Path,
    tmp_path: Path,
) -> None:
    env = product_environment(
        kafka_bootstrap_servers,
        tmp_path,
        partitions=PARTITIONS,
        base=os.environ,
        DATABASE_URL=database_url,
        ALERTFOLD_SECRETS_KEY=base64.b64encode(os.urandom(32)).decode(),
        ALERTFOLD_NOTIFICATION_CHANNELS_FILE=str(channels_file),
        ALERTFOLD_LOG_LEVEL="info",
    )
    topic = f"{env['ALERTFOLD_TOPIC_PREFIX']}issue-events"
    first = NotifierProcess(env, tmp_path / "first.log")
    eventually(first.partitions, timeout=60, what="the first notifier reading")
    second = NotifierProcess(env, tmp_path / "second.log")
    try:
        eventually(
            lambda: first.partitions() and second.partitions(),
            timeout=60,
            what="both notifiers sharing the partitions",
        )
        issues = stories("issue", 60)
        produce(kafka_bootstrap_servers, topic, [story.opened() for story in issues])
        eventually(lambda: len(receiver.requests) >= 60, timeout=60, what="the first deliveries")

        receiver.gate.clear()  # each notifier's next delivery is held in flight
        produce(kafka_bootstrap_servers, topic, [story.resolved() for story in issues])
        eventually(lambda: receiver.held == 2, timeout=30, what="a delivery held from each")
        first.stop(signal.SIGKILL)
        receiver.gate.set()

        # The survivor takes the dead one's partitions once the group's session expires.
        eventually(lambda: len(receiver.requests) >= 120, timeout=60, what="every delivery")
        eventually(lambda: second.partitions() == set(range(PARTITIONS)), what="all partitions")
    finally:
        first.stop()
        second.stop()

    delivered = receiver.delivery_ids()
    assert len(delivered) == 120
    assert max(delivered.values()) == 1
    # The killed notifier's last delivery reached the receiver, but it never learnt so.
    states = ledger_states(create_database_engine(database_url))
    assert states == {"delivered": 119, "interrupted": 1}


def produce(bootstrap: str, topic: str, events: list[IssueEventRecord]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for event in events:
                await producer.send(topic, encode_issue_event(event), key=event.channel_id.encode())
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(send())
