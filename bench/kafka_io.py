"""Raw aiokafka produce and consume: loading topics, and the floor the product is read against.

The producer is configured like the product's (acks=all) and sends with bounded in-flight
futures, so memory stays flat however many records go through.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from infra.kafka_clients import KafkaConnection

IN_FLIGHT = 5_000
LINGER_MS = 5
MAX_BATCH_BYTES = 262_144
PRODUCER_SETTINGS = {"acks": "all", "linger_ms": LINGER_MS, "max_batch_size": MAX_BATCH_BYTES}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Consumed:
    count: int
    seconds: float


async def produce(
    kafka: KafkaConnection,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes]],
    on_progress: Progress | None = None,
) -> tuple[int, float]:
    """Send every record and wait for the broker's acks; (records, seconds from first send)."""
    producer = AIOKafkaProducer(
        **kafka.options, acks="all", linger_ms=LINGER_MS, max_batch_size=MAX_BATCH_BYTES
    )
    await producer.start()
    try:
        pending: list[asyncio.Future[object]] = []
        sent = 0
        started = time.perf_counter()
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            sent += 1
            if len(pending) >= IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
                if on_progress:
                    on_progress(sent)
        await asyncio.gather(*pending)
        seconds = time.perf_counter() - started
        if on_progress:
            on_progress(sent)
        return sent, seconds
    finally:
        await producer.stop()


def partitions_of(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(count)]


async def consume(
    kafka: KafkaConnection,
    topic: str,
    partitions: int,
    expected: int,
    *,
    timeout: float,
    on_record: Callable[[ConsumerRecord[bytes, bytes]], None] | None = None,
    on_progress: Progress | None = None,
    until: Callable[[], bool] | None = None,
) -> Consumed:
    """Read the topic from offset 0 until `expected` records came (or `until()` holds);
    fail after `timeout` s."""
    consumer = AIOKafkaConsumer(**kafka.options, enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        assigned = partitions_of(topic, partitions)
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        count = 0
        started = time.perf_counter()
        while not (until() if until else count >= expected):
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{topic}: {count:,} of {expected:,} records after {timeout} s")
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                count += len(records)
                if on_record:
                    for record in records:
                        on_record(record)
            if on_progress:
                on_progress(count)
        return Consumed(count, time.perf_counter() - started)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def end_offsets(kafka: KafkaConnection, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**kafka.options, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions_of(topic, partitions))
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Arrival:
    """When records arrived on a topic, as seen by polling its end offsets (wall clock, s)."""

    total: int
    first_seen_at: float
    first_seen_total: int
    done_at: float

    @property
    def rate(self) -> float:
        """Records per second from the first poll that saw any to the one that saw them all."""
        seconds = self.done_at - self.first_seen_at
        return (self.total - self.first_seen_total) / seconds if seconds > 0 else 0.0


async def wait_for_total(
    kafka: KafkaConnection,
    topic: str,
    partitions: int,
    expected: int,
    *,
    timeout: float,
    alive: Callable[[], None],
    on_progress: Progress | None = None,
    window: float | None = None,
) -> Arrival:
    """Wait until the topic's partitions hold `expected` records in all, without reading them,
    or, with a `window`, until that many seconds have passed since the first record came.

    Polling end offsets (every 20 ms) costs the broker almost nothing, so the process under
    test keeps the machine to itself while it works.
    """
    consumer = AIOKafkaConsumer(**kafka.options, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = partitions_of(topic, partitions)
        deadline = time.monotonic() + timeout
        first: tuple[float, int] | None = None
        while True:
            total = sum((await consumer.end_offsets(assigned)).values())
            now = time.time()
            if first is None and total > 0:
                first = (now, total)
            if on_progress:
                on_progress(total)
            if first is not None and (total >= expected or (window and now - first[0] >= window)):
                return Arrival(total, first[0], first[1], now)
            alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: {total:,} of {expected:,} records after {timeout} s")
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()
