"""The one reader of `issue-events`: the Kafka side of every consumer that keeps its own positions.

The lookup view, the audit store and the notifier each keep their Kafka positions in their
own database, committed in the same transaction as what a batch changed there, so a restart
resumes exactly after the last committed batch. What they share is here; what they do with
the events is a *sink* (`projections.issue_event_sink`).

By default the reader assigns itself every partition (no consumer group): each copy reads
everything, which the lookup view and the audit store can afford because their writes are
idempotent (a replay's process reads only the share of the partitions it is given). With a
`group_id` the partitions are shared among the replicas of one consumer group instead (the
notifier, which must not send twice); the group only hands partitions
out, positions still come from the sink, never from Kafka's committed offsets. A partition
is revoked only after the batch in progress was committed (or dropped, if it cannot be
committed meanwhile: its positions still point before it, so the next owner reads it), and
a batch polled across a rebalance is read again from the stored positions rather than
applied. The `PartitionOwner` given with the group hears of both.

Either way the reader seeks each partition to the sink's stored position (or the
beginning), polls, decodes, and hands each batch to the sink in a worker thread, with the
consumer's positions after it rather than the last record's offset: those also step over
undecodable values and transaction markers, which never reach the sink, so neither is read
again after a restart. A batch the sink cannot commit is retried while the database is down:
until it is committed the reader does not move on, and if it is stopped meanwhile the stored
positions still point before the batch. While Kafka is out of reach the reader backs off and
reconnects; partitions added to the topic are picked up while it runs.

What differs between sinks are hooks, not copies of this loop: chores between batches (a
generation check, retention, re-reading channels), `PositionsMoved` when a replay moved
the sink's positions to a new generation (the reader seeks again from them, re-reading the
refused batch), `SinkClosed` when the sink can take nothing more (`run()` fails with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection, Mapping
from typing import Any, Generic, TypedDict, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from infra.kafka_clients import KafkaConnection
from infra.logs import one_line
from infra.metrics import ConsumerLag
from projections.catching_up import CatchingUp
from projections.chore_schedule import ChoreSchedule
from projections.issue_event_reading import (
    Record,
    decode_records,
    reader_clients,
    stop_consumer,
    topic_partitions,
)
from projections.issue_event_sink import (
    Chore,
    IssueEventSink,
    PartitionOwner,
    PositionsMoved,
    SinkClosed,
)
from projections.metrics import APPLIED, APPLY_FAILURES, APPLY_SECONDS, SKIPPED
from projections.sharing_partitions import SharingPartitions

__all__ = [
    "Chore",
    "IssueEventReader",
    "IssueEventSink",
    "PartitionOwner",
    "PositionsMoved",
    "ReadingOptions",
    "SinkClosed",
]

log = logging.getLogger(__name__)


SinkT = TypeVar("SinkT", bound=IssueEventSink)


class ReadingOptions(TypedDict, total=False):
    """`IssueEventReader`'s tuning, for the readers built on it to pass through."""

    max_records: int
    poll_timeout_ms: int
    retry_backoff: float
    max_retry_backoff: float
    partition_refresh_interval: float


class IssueEventReader(CatchingUp, SharingPartitions, Generic[SinkT]):
    """An asyncio loop: poll a batch, decode it, apply it in a worker thread, repeat.

    `applied_offsets` (partition → next offset, as committed by the sink, for the partitions
    read) and the counters are for tests, health checks and metrics: `applied` counts decoded
    records committed (replayed duplicates included, though they changed nothing), `skipped`
    undecodable records, `errors` failed attempts to commit a batch (each retried).
    """

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        sink: SinkT,
        *,
        group_id: str | None = None,
        owner: PartitionOwner | None = None,
        partitions: Collection[int] | None = None,
        max_records: int = 1000,
        poll_timeout_ms: int = 200,
        retry_backoff: float = 0.5,
        max_retry_backoff: float = 5.0,
        partition_refresh_interval: float = 30.0,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.sink = sink
        self.name = sink.name
        self.group_id = group_id
        self.owner = owner
        # Without a group: only these partitions of the topic (a replay's share), or all.
        self.only = None if partitions is None else frozenset(partitions)
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_backoff = retry_backoff
        self.max_retry_backoff = max_retry_backoff
        self.partition_refresh_interval = partition_refresh_interval

        self.applied = 0
        self.skipped = 0
        self.errors = 0
        self._lag = ConsumerLag(self.name)

        self._consumer: AIOKafkaConsumer | None = None
        self._positions: dict[int, int] = {}
        self._chores = ChoreSchedule(())
        self._backoff = retry_backoff  # before reconnecting
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()
        self._running = False
        self._failure: BaseException | None = None
        self._finished = asyncio.Event()
        self._finished.set()
        # In a group: a batch is applied, and partitions change hands, one at a time.
        self._batch = asyncio.Lock()
        self._assignments = 0  # counts rebalances, to tell a batch polled across one
        self._revoking = False  # a batch failing to commit is dropped rather than retried
        self._rebalance_failure: Exception | None = None

    # -- public --------------------------------------------------------------------------

    @property
    def applied_offsets(self) -> dict[int, int]:
        """Partition → next offset to read; everything before it is committed by the sink."""
        return dict(self._positions)

    @property
    def ready(self) -> bool:
        """Whether partitions are assigned and positioned: what is produced now is seen."""
        return self._ready.is_set()

    async def run(self) -> None:
        """Read and apply until `stop()` is called (or the task is cancelled).

        A stopped reader stays stopped; a restart is a new reader on the same sink, which
        resumes from the stored positions.
        """
        if self._running:
            raise RuntimeError(f"reader {self.name!r} is already running")
        self._running = True
        self._finished.clear()
        self._chores = ChoreSchedule(self.sink.chores())
        try:
            await self._reconnecting()
        except BaseException as exc:
            self._failure = exc
            raise
        finally:
            self._running = False
            self._finished.set()

    async def stop(self) -> None:
        """Ask `run()` to finish after the batch in progress, and wait until it has."""
        self._stopping.set()
        await self._finished.wait()

    # -- connections ---------------------------------------------------------------------

    async def _reconnecting(self) -> None:
        """Read through fresh clients after each failure, backing off while they keep failing."""
        while not self._stopping.is_set():
            try:
                await self._read()
            except SinkClosed:
                raise
            except Exception as exc:
                log.warning(
                    "%s: cannot read %s from %s (%s); retrying in %.1fs",
                    self.name,
                    self.topic,
                    self.kafka.servers,
                    one_line(exc),
                    self._backoff,
                )
                await self._sleep(self._backoff)
                self._backoff = min(self._backoff * 2, self.max_retry_backoff)

    async def _read(self) -> None:
        """One connection: start the clients, wait for the topic, assign, consume until stopped."""
        consumer, admin = reader_clients(
            self.kafka, f"alertfold-{self.name}", group_id=self.group_id
        )
        try:
            await consumer.start()
            await admin.start()
            self._consumer = consumer
            partitions = await self._wait_for_partitions(admin)
            if partitions is not None:
                if self.group_id is None:
                    await self._assign(consumer, partitions)
                else:
                    consumer.subscribe([self.topic], listener=self._rebalances(consumer))
                self._backoff = self.retry_backoff  # the next outage backs off from the start
                await self._consume(consumer, admin)
        finally:
            self._ready.clear()
            self._lag.clear()
            self._consumer = None
            await stop_consumer(consumer)
            await admin.close()
            if self.group_id is not None:
                await self._give_up(set(self._positions))

    async def _wait_for_partitions(self, admin: AIOKafkaAdminClient) -> set[int] | None:
        """The topic's partitions, waiting (with a log line) while the topic does not exist."""
        backoff = self.retry_backoff
        while not self._stopping.is_set():
            partitions = self._chosen(await topic_partitions(admin, self.topic))
            if partitions:
                return partitions
            log.info(
                "%s: topic %s has no partitions yet; retrying in %.1fs",
                self.name,
                self.topic,
                backoff,
            )
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.max_retry_backoff)
        return None

    def _chosen(self, partitions: set[int]) -> set[int]:
        return partitions if self.only is None else partitions & self.only

    async def _assign(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        """Assign every partition to this reader alone (no group) and position them."""
        self._ready.clear()
        consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
        await self._position(consumer, partitions)
        self._ready.set()

    async def _position(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        """Seek each partition to its stored offset (or the start); they are the ones read."""
        stored = await asyncio.to_thread(self.sink.positions, self.topic, partitions)
        assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        fresh = []
        for tp in assignment:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                fresh.append(tp)
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        self._positions = {tp.partition: await consumer.position(tp) for tp in assignment}
        log.info(
            "%s: reading %s partitions %s from %s",
            self.name,
            self.topic,
            sorted(partitions),
            self._positions,
        )

    async def _refresh_partitions(
        self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient
    ) -> None:
        """Pick up partitions added to the topic since they were assigned."""
        try:
            partitions = self._chosen(await topic_partitions(admin, self.topic))
        except Exception as exc:
            log.warning("%s: metadata refresh failed (%s)", self.name, one_line(exc))
            return
        if partitions - set(self._positions):
            log.info("%s: %s now has partitions %s", self.name, self.topic, sorted(partitions))
            await self._assign(consumer, partitions | set(self._positions))

    # -- the loop ------------------------------------------------------------------------

    async def _consume(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        next_refresh = time.monotonic() + self.partition_refresh_interval
        while not self._stopping.is_set():
            assignments = self._assignments
            batch = await consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            async with self._batch:
                if self._rebalance_failure is not None:
                    failure, self._rebalance_failure = self._rebalance_failure, None
                    raise failure
                if assignments != self._assignments:
                    # Polled across a rebalance: read it again from the committed positions.
                    for partition, position in self._positions.items():
                        consumer.seek(TopicPartition(self.topic, partition), position)
                    continue
                await self._take(consumer, batch)
            await self._lag.observe(consumer)
            if self.group_id is None and time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.partition_refresh_interval
                await self._refresh_partitions(consumer, admin)

    async def _take(
        self,
        consumer: AIOKafkaConsumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> None:
        """Decode and apply one polled batch, then do the chores that are due."""
        # Decoding a thousand records takes milliseconds: off the loop, like the writes.
        records = await asyncio.to_thread(self._decode, batch) if batch else []
        advanced = await self._consumed_positions(consumer)
        try:
            if records or advanced:
                await self._apply(records, advanced)
            await self._chores.run_due(self.name)
        except PositionsMoved as moved:
            log.info("%s: %s; reading on from its positions", self.name, moved)
            await self._position(consumer, set(self._positions))

    def _decode(
        self, batch: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> list[Record]:
        records, skipped = decode_records(batch, self.name)
        self.skipped += skipped
        SKIPPED.labels(self.name).inc(skipped)
        return records

    async def _consumed_positions(self, consumer: AIOKafkaConsumer) -> dict[int, int]:
        """Partitions whose consumer position moved past the committed one, and where to."""
        advanced: dict[int, int] = {}
        for partition, committed in self._positions.items():
            position: int = await consumer.position(TopicPartition(self.topic, partition))
            if position > committed:
                advanced[partition] = position
        return advanced

    async def _apply(self, records: list[Record], next_offsets: dict[int, int]) -> None:
        """Have the sink commit one batch, retrying while it fails; never drop the batch
        unless the reader stops or its partitions are revoked meanwhile."""
        backoff = self.retry_backoff
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self.sink.apply, self.topic, records, next_offsets)
                break
            except (PositionsMoved, SinkClosed):
                raise
            except Exception:
                self.errors += 1
                APPLY_FAILURES.labels(self.name).inc()
                log.exception(
                    "%s: applying %d records failed; retrying in %.1fs",
                    self.name,
                    len(records),
                    backoff,
                )
                await self._sleep(backoff)
                if self._stopping.is_set() or self._revoking:
                    return
                backoff = min(backoff * 2, self.max_retry_backoff)
        APPLY_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        self.applied += len(records)
        APPLIED.labels(self.name).inc(len(records))
        for partition, position in next_offsets.items():
            self._positions[partition] = max(self._positions.get(partition, 0), position)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when `stop()` is called."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
