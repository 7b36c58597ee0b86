"""The lookup projector against a real Kafka broker, into a real SQLite store.

Each test uses its own topic, so tests neither see each other's records nor depend on order.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic

from domain.records import IssueEventRecord
from harness.stories import IssueStory
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from projections.lookup import fold_lookup, issue_view
from projections.lookup_store import LookupStore
from projections.runner import LookupProjector
from wire.issue_events import encode_issue_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CAUGHT_UP_TIMEOUT = 30.0


@pytest.fixture
def topic() -> str:
    return f"issue-events-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(tmp_path: Path) -> LookupStore:
    lookup = LookupStore(create_database_engine(f"sqlite:///{tmp_path}/lookup.db"))
    lookup.create_schema()
    return lookup


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()
    # The new topic must be known to every listener before producing to it.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(100):
            if await producer.partitions_for(topic):
                return
            await asyncio.sleep(0.1)
    finally:
        await producer.stop()


async def add_partitions(bootstrap: str, topic: str, total: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_partitions({topic: NewPartitions(total_count=total)})
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    events: Iterable[IssueEventRecord | bytes],
    *,
    key: bytes | None = None,
    partition: int | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for item in events:
            if isinstance(item, IssueEventRecord):
                value, record_key = encode_issue_event(item), item.channel_id.encode()
            else:
                value, record_key = item, key or b"C-bad"
            await producer.send_and_wait(topic, value, key=record_key, partition=partition)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running(projector: LookupProjector) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(projector.run())
    try:
        yield task
    finally:
        await asyncio.wait_for(projector.stop(), timeout=15)
        await task


def history(count: int, channels: int = 5) -> list[IssueStory]:
    stories = [
        IssueStory(f"i-{uuid.uuid4().hex[:8]}-{n}", f"C{n % channels}") for n in range(count)
    ]
    for story in stories:
        story.opened()
    for story in stories[::2]:
        story.grouped()
    for story in stories[::3]:
        story.resolved()
    return stories


def all_events(stories: Iterable[IssueStory]) -> list[IssueEventRecord]:
    return [event for story in stories for event in story.events]


def assert_store_matches(store: LookupStore, events: list[IssueEventRecord]) -> None:
    expected = {issue_id: issue_view(row) for issue_id, row in fold_lookup(events).items()}
    stored = {issue["id"]: issue for issue in store.list_issues(limit=100_000)}
    assert stored == expected


async def test_projects_every_partition_and_resumes_after_restart(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=3)
    first = all_events(history(30))
    await produce(kafka_bootstrap_servers, topic, first)

    projector = LookupProjector(KafkaConnection(kafka_bootstrap_servers), topic, store)
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)
    assert projector.applied == len(first)
    assert_store_matches(store, first)
    stored_positions = store.positions("lookup", topic)
    assert sum(stored_positions.values()) == len(first)
    assert stored_positions == projector.applied_offsets

    second = all_events(history(10))
    await produce(kafka_bootstrap_servers, topic, second)

    restarted = LookupProjector(KafkaConnection(kafka_bootstrap_servers), topic, store)
    async with running(restarted):
        await restarted.wait_until_caught_up(CAUGHT_UP_TIMEOUT)
    # Only the new records were read: the restart resumed at the stored positions.
    assert restarted.applied == len(second)
    assert_store_matches(store, first + second)
    assert sum(store.positions("lookup", topic).values()) == len(first) + len(second)


async def test_duplicated_and_replayed_events_are_no_ops(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    stories = history(12)
    events = all_events(stories)
    # A re-fold writes the same events again, and late copies of old ones arrive after.
    await produce(kafka_bootstrap_servers, topic, events + events + events[:5])

    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers), topic, store, projection="dupes"
    )
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert_store_matches(store, events)
    assert projector.applied == 2 * len(events) + 5


async def test_undecodable_values_are_skipped_and_counted(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    good = all_events(history(4))
    bad: list[IssueEventRecord | bytes] = [b"not json", b'{"type": "IssueOpened"}', b"\xff\xfe"]
    await produce(kafka_bootstrap_servers, topic, [good[0], *bad, *good[1:]])
    await produce(kafka_bootstrap_servers, topic, [b"[]"])

    projector = LookupProjector(KafkaConnection(kafka_bootstrap_servers), topic, store)
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert projector.skipped == 4
    assert projector.applied == len(good)
    assert_store_matches(store, good)
    # The position covers the trailing bad record too: a restart does not read it again.
    assert store.positions("lookup", topic) == {0: len(good) + 4}


async def test_waits_for_a_topic_created_later(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers),
        topic,
        store,
        retry_backoff=0.1,
        max_retry_backoff=0.3,
    )
    async with running(projector) as task:
        await asyncio.sleep(1.0)
        assert not task.done()
        assert not projector.ready

        await create_topic(kafka_bootstrap_servers, topic, partitions=2)
        events = all_events(history(6))
        await produce(kafka_bootstrap_servers, topic, events)
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert_store_matches(store, events)


async def test_picks_up_partitions_added_later(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers), topic, store, partition_refresh_interval=0.2
    )
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)
        await add_partitions(kafka_bootstrap_servers, topic, total=3)
        events = all_events(history(4))
        await produce(kafka_bootstrap_servers, topic, events, partition=2)
        for _ in range(200):
            if 2 in projector.applied_offsets:
                break
            await asyncio.sleep(0.05)
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert set(projector.applied_offsets) == {0, 1, 2}
    assert_store_matches(store, events)


async def test_transaction_markers_do_not_hold_back_catching_up(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    committed = all_events(history(3))
    aborted = all_events(history(2))
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, transactional_id=f"tx-{topic}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            for event in committed:
                await producer.send_and_wait(
                    topic, encode_issue_event(event), key=event.channel_id.encode()
                )
        await producer.begin_transaction()
        for event in aborted:
            await producer.send_and_wait(
                topic, encode_issue_event(event), key=event.channel_id.encode()
            )
        await producer.abort_transaction()
    finally:
        await producer.stop()

    projector = LookupProjector(KafkaConnection(kafka_bootstrap_servers), topic, store)
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert_store_matches(store, committed)
    assert projector.applied == len(committed)
    # Two markers (commit, abort) and the aborted records are stepped over and stored.
    assert store.positions("lookup", topic) == {0: len(committed) + len(aborted) + 2}


async def test_stop_returns_promptly_when_idle(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    projector = LookupProjector(KafkaConnection(kafka_bootstrap_servers), topic, store)
    task = asyncio.create_task(projector.run())
    await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(projector.stop(), timeout=10)
    await task

    assert loop.time() - started < 5
    assert not projector.ready


async def test_database_failures_are_retried_without_losing_the_batch(
    kafka_bootstrap_servers: str,
    topic: str,
    store: LookupStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    events = all_events(history(5))
    await produce(kafka_bootstrap_servers, topic, events)
    original = store.apply_batch
    failures = 2

    def flaky(*args: Any, **kwargs: Any) -> int:
        nonlocal failures
        if failures:
            failures -= 1
            raise OSError("database unavailable")
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "apply_batch", flaky)
    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers), topic, store, retry_backoff=0.05
    )
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert projector.errors == 2
    assert projector.applied == len(events)
    assert_store_matches(store, events)


async def test_unreachable_broker_is_retried_until_stopped(store: LookupStore) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    projector = LookupProjector(KafkaConnection(dead), "issue-events", store, retry_backoff=0.05)
    task = asyncio.create_task(projector.run())
    await asyncio.sleep(1.0)
    assert not task.done()

    with pytest.raises(TimeoutError, match="not consuming"):
        await projector.wait_until_caught_up(0.2)
    await asyncio.wait_for(projector.stop(), timeout=10)
    await task
    assert not projector.ready


async def test_stopped_before_starting_never_runs(store: LookupStore) -> None:
    projector = LookupProjector(KafkaConnection("127.0.0.1:1"), "issue-events", store)
    task = asyncio.create_task(projector.run())
    await projector.stop()

    await asyncio.wait_for(task, timeout=5)
    with pytest.raises(RuntimeError, match="stopped"):
        await projector.wait_until_caught_up(1.0)
