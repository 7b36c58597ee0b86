"""Putting accepted alerts on the `alerts` topic, acknowledged by every in-sync replica.

The API answers 202 only after this returns, so an alert that got a 202 is in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from infra.kafka_clients import KafkaConnection

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not acknowledge; the caller must not report the alerts as accepted."""


@dataclass(frozen=True)
class Outgoing:
    """One record to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


class AlertPublisher:
    def __init__(self, kafka: KafkaConnection, topic: str, timeout: float = 10.0) -> None:
        self._kafka = kafka
        self._topic = topic
        self._timeout = timeout
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def topic(self) -> str:
        """Where `publish` sends: the `alerts` topic."""
        return self._topic

    async def _ready_producer(self) -> AIOKafkaProducer:
        """Connect lazily, so the API starts (and reports 503) while the broker is down."""
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    **self._kafka.options,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=int(self._timeout * 1000),
                    max_request_size=8 * 1024 * 1024,
                    linger_ms=2,
                )
                try:
                    await asyncio.wait_for(producer.start(), self._timeout)
                except (KafkaError, TimeoutError, OSError) as error:
                    await producer.stop()
                    raise BrokerUnavailable(_describe(error)) from None
                self._producer = producer
            return self._producer

    async def publish(self, records: Sequence[tuple[str, bytes]]) -> None:
        """Send (channel id, value) records keyed by channel; return once all are acked."""
        await self.publish_to(self._topic, records)

    async def publish_to(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        """The same onto another topic (the API's PagerDuty webhooks go to `interactions`)."""
        await self.publish_records(
            [Outgoing(topic, channel.encode(), value) for channel, value in records]
        )

    async def publish_records(self, records: Sequence[Outgoing]) -> list[tuple[int, int]]:
        """Send records, each to its topic (alerts and the dead letters of the same request);
        return once all are acked, with where each went: (partition, offset)."""
        async with self._producing(f"publishing {len(records)} record(s)") as producer:
            futures = [
                await producer.send(
                    r.topic, key=r.key, value=r.value, headers=list(r.headers) or None
                )
                for r in records
            ]
            sent = await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        return [(metadata.partition, metadata.offset) for metadata in sent]

    async def broadcast(self, topic: str, key: str, value: bytes) -> int:
        """Put one copy of the value on every partition of the topic; return how many.

        For inputs every channel's actor must see in its own order (silences)."""
        async with self._producing(f"broadcasting onto {topic}") as producer:
            partitions = await asyncio.wait_for(producer.partitions_for(topic), self._timeout)
            futures = [
                await producer.send(topic, key=key.encode(), value=value, partition=partition)
                for partition in sorted(partitions)
            ]
            await asyncio.wait_for(asyncio.gather(*futures), self._timeout)
        return len(futures)

    @contextlib.asynccontextmanager
    async def _producing(self, what: str) -> AsyncIterator[AIOKafkaProducer]:
        """The producer, for sends that all count or none: a failure retires it and says
        `BrokerUnavailable`, so the caller reports nothing as accepted."""
        producer = await self._ready_producer()
        try:
            yield producer
        except (KafkaError, TimeoutError, OSError) as error:
            log.warning("%s failed: %s", what, _describe(error))
            self._retire(producer)
            raise BrokerUnavailable(_describe(error)) from None

    def _retire(self, producer: AIOKafkaProducer) -> None:
        """Replace a producer that failed: the next request starts a fresh one.

        An idempotent producer whose batches timed out while the broker was away keeps a
        gap in its sequence numbers, and after the broker returns it fails every send with
        OutOfOrderSequenceNumber; a new producer (new producer id) has no gap. The old one
        is stopped in the background, bounded, so no request waits for its flush.
        """
        if self._producer is producer:
            self._producer = None
            task = asyncio.create_task(_stop_within(producer, self._timeout))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        await asyncio.gather(*self._retiring)


async def _stop_within(producer: AIOKafkaProducer, timeout: float) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout)
    except (KafkaError, TimeoutError, OSError) as error:
        log.info("a retired Kafka producer did not stop cleanly: %s", _describe(error))


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
