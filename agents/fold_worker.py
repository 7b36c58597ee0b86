"""`alertfold worker`: folds the input partitions this process owns, beside its peers.

Workers share `alerts`, `ticks` and `interactions` through one consumer group whose range
assignment gives a member the same partition number of all three, so one worker owns a
channel's every input (DESIGN.md invariant 1). For each partition it owns, a
`PartitionOwner` folds batches, one Kafka transaction each, with its own transactional
producer.

Taking a partition over, in this order: the partition's producer is initialised, which fences
the previous owner and aborts a transaction it left open; the consumer group's committed
offsets are read; the partition's state is read back from `fold-state` (kept from before when
this worker owned the partition up to exactly those offsets); the consumer is positioned at
the offsets. A worker whose writes are refused as fenced drops the partition until the group
gives it back. The clock is the owner's: it writes the partition's ticks in its transactions,
so exactly one clock runs per partition, whichever worker that is; its ticks carry the
worker's alerting settings, so the partition decides with its owner's (`domain.alerting`):
of the channels with a reminder interval of their own, only those whose issues open on the
partition, which keeps every tick small however many channels have one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, ProducerFenced

from agents.channel_actors import ChannelActors
from agents.fold_state import read_partition_state, split_positions
from agents.inputs import InputRecord
from agents.issue_table import alerting_settings_of
from agents.metrics import PARTITIONS_OWNED
from agents.partition_owner import PartitionOwner, WorkerTopics, transactional_producer
from domain.alerting import OFF, AlertingSettings
from domain.routing import RouteTable
from infra.kafka_clients import KafkaConnection
from infra.metrics import ConsumerLag

log = logging.getLogger("alertfold.fold")

# Records taken from the consumer at once: a batch is folded per partition in one transaction.
BATCH_RECORDS = 5000
RETRY_SECONDS = 1.0


class FoldWorker:
    def __init__(
        self,
        *,
        kafka: KafkaConnection,
        topics: WorkerTopics,
        group_id: str,
        transactional_prefix: str,
        routes: RouteTable,
        partitions: int,
        clock: Callable[[], datetime],
        tick_seconds: float,
        alerting: AlertingSettings = OFF,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self._kafka = kafka
        self._topics = topics
        self._group_id = group_id
        self._prefix = transactional_prefix
        self._routes = routes
        self._partitions = partitions
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._alerting = alerting
        self._session_timeout_ms = session_timeout_ms
        self.owners: dict[int, PartitionOwner] = {}
        self._released: dict[int, PartitionOwner] = {}
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._lag = ConsumerLag("fold")
        self.ready = False  # a member of the group, folding what it was given

    @property
    def partitions_owned(self) -> list[int]:
        return sorted(self.owners)

    async def run(self) -> None:
        consumer = await self._connected_consumer()
        if consumer is None:
            return
        clock = asyncio.create_task(self._run_clock(), name="fold-clock")
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=BATCH_RECORDS)
                async with self._lock:
                    failed = await self._fold(consumer, batch)
                await self._lag.observe(consumer)
                if failed:
                    await self._pause(RETRY_SECONDS)
        finally:
            self.ready = False
            self._lag.clear()
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            async with self._lock:
                await self._close(self.owners, self._released)
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await consumer.stop()

    async def stop(self) -> None:
        self._stopping.set()

    # -- folding -------------------------------------------------------------------------

    async def _fold(
        self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[Any]]
    ) -> bool:
        """Fold every owned partition with records or a due tick; True when one failed."""
        records: dict[int, list[InputRecord]] = {}
        for topic in self._topics.inputs.all:
            for tp, messages in batch.items():
                if tp.topic == topic:
                    records.setdefault(tp.partition, []).extend(
                        InputRecord(
                            m.topic, m.partition, m.offset, m.key, m.value, m.timestamp / 1000
                        )
                        for m in messages
                    )
        for partition, owner in self.owners.items():
            if partition in records:
                records[partition] = _not_yet_folded(consumer, owner, records[partition])
        work = [
            (owner, records.get(partition, []))
            for partition, owner in self.owners.items()
            if records.get(partition) or owner.tick_due is not None
        ]
        results = await asyncio.gather(
            *(self._fold_partition(consumer, owner, rs) for owner, rs in work)
        )
        return not all(results)

    async def _fold_partition(
        self, consumer: AIOKafkaConsumer, owner: PartitionOwner, records: list[InputRecord]
    ) -> bool:
        try:
            await owner.fold(records)
            return True
        except ProducerFenced:
            log.warning(
                "partition %d: another worker took it over; leaving it until it is given back",
                owner.partition,
            )
            self.owners.pop(owner.partition, None)
            PARTITIONS_OWNED.set(len(self.owners))
            await owner.close()
            return True
        except Exception as error:
            log.warning(
                "partition %d: folding %d record(s) failed, nothing of them committed "
                "(retrying): %s",
                owner.partition,
                len(records),
                _one_line(error),
            )
            _rewind(consumer, records)
            return False

    # -- partitions coming and going -----------------------------------------------------

    async def released(self, revoked: Iterable[TopicPartition]) -> None:
        """The group takes partitions back; the batch in progress finished first."""
        async with self._lock:
            for partition in {tp.partition for tp in revoked}:
                owner = self.owners.pop(partition, None)
                if owner is not None:
                    self._released[partition] = owner

    async def assigned(
        self, consumer: AIOKafkaConsumer, assigned: Iterable[TopicPartition]
    ) -> None:
        partitions = sorted({tp.partition for tp in assigned})
        async with self._lock:
            gone = {p: o for p, o in self._released.items() if p not in partitions}
            await self._close(gone)
            started = time.monotonic()
            owners = await asyncio.gather(*(self._take(consumer, p) for p in partitions))
            self._released.clear()
            self.owners = {owner.partition: owner for owner in owners}
            PARTITIONS_OWNED.set(len(self.owners))
            self.ready = True
        log.info(
            "worker owns partitions %s (taken over in %.1fs)",
            partitions,
            time.monotonic() - started,
        )

    async def _take(self, consumer: AIOKafkaConsumer, partition: int) -> PartitionOwner:
        before = self._released.get(partition)
        if before is not None:
            await before.close()  # a fresh producer fences any other owner's
        backoff = RETRY_SECONDS
        while True:
            try:
                return await self._taken(consumer, partition, before)
            except KafkaError as error:
                if self._stopping.is_set():
                    raise
                log.warning(
                    "partition %d: taking it over failed (%s); retrying in %.0fs",
                    partition,
                    _one_line(error),
                    backoff,
                )
                await self._pause(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _taken(
        self, consumer: AIOKafkaConsumer, partition: int, before: PartitionOwner | None
    ) -> PartitionOwner:
        producer = transactional_producer(
            self._kafka, f"{self._prefix}-fold-{partition}", f"{self._prefix}-fold"
        )
        try:
            await producer.start()  # initialises the transactional id: the fencing
            committed = {
                topic: await consumer.committed(TopicPartition(topic, partition))
                for topic in self._topics.inputs.all
            }
            if before is not None and all(
                before.position(topic) == offset for topic, offset in committed.items()
            ):
                table, positions = before.actors.table.committed, before.committed_positions
            else:
                entries = await read_partition_state(self._kafka, self._topics.state, partition)
                table, stored = split_positions(entries)
                committed = {
                    topic: stored.get(topic) if offset is None else offset
                    for topic, offset in committed.items()
                }
                positions = {
                    f"{topic}:{partition}": str(offset).encode()
                    for topic, offset in committed.items()
                    if offset is not None
                }
        except BaseException:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await producer.stop()
            raise
        for topic, offset in committed.items():
            tp = TopicPartition(topic, partition)
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
        actors = ChannelActors(
            table, routes=self._routes, partitions=self._partitions, topics=self._topics.inputs
        )
        owner = PartitionOwner(
            partition,
            producer,
            actors,
            positions,
            topics=self._topics,
            group_id=self._group_id,
            alerting=alerting_settings_of(self._alerting, partition, self._partitions),
        )
        if self._tick_seconds > 0:
            # A tick at once: it brings this worker's alerting settings to the partition
            # without waiting an interval.
            owner.tick_due = self._clock()
        return owner

    async def _close(self, *groups: dict[int, PartitionOwner]) -> None:
        for group in groups:
            for owner in group.values():
                await owner.close()
            group.clear()

    # -- the clock -----------------------------------------------------------------------

    async def _run_clock(self) -> None:
        """Each interval, the clock reads the time for every owned partition: a partition
        with a deadline due by then gets a tick."""
        if self._tick_seconds <= 0:
            log.info("clock off: deadlines fire only on ticks produced elsewhere")
            return
        while not self._stopping.is_set():
            await self._pause(self._tick_seconds)
            now = self._clock()
            for owner in list(self.owners.values()):
                owner.clock_reads(now)

    # -- plumbing ------------------------------------------------------------------------

    async def _connected_consumer(self) -> AIOKafkaConsumer | None:
        backoff = RETRY_SECONDS
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                **self._kafka.options,
                group_id=self._group_id,
                client_id=f"{self._prefix}-fold",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                partition_assignment_strategy=(RangePartitionAssignor,),
                session_timeout_ms=self._session_timeout_ms,
                heartbeat_interval_ms=max(self._session_timeout_ms // 3, 100),
                max_partition_fetch_bytes=16 * 1024 * 1024,
            )
            listener = _Rebalance(self, consumer)
            consumer.subscribe(list(self._topics.inputs.all), listener=listener)
            try:
                await consumer.start()
                return consumer
            except KafkaError as error:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await consumer.stop()
                log.warning("cannot reach Kafka (%s); retrying in %.0fs", _one_line(error), backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, 30.0)
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: FoldWorker, consumer: AIOKafkaConsumer) -> None:
        self._worker = worker
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._worker.released(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._worker.assigned(self._consumer, assigned)


def _not_yet_folded(
    consumer: AIOKafkaConsumer, owner: PartitionOwner, records: list[InputRecord]
) -> list[InputRecord]:
    """The records past the owner's positions; the others were folded already.

    The consumer may read from before where the fold stands: a partition taken over without
    the group's offsets (Kafka forgot them) is reset to the beginning by the consumer itself
    while it is assigned, whatever the worker seeks. Such records are dropped here, and the
    consumer sent ahead to the position, so nothing is folded twice."""
    positions = {topic: owner.position(topic) for topic in {r.topic for r in records}}
    ahead: dict[str, int] = {}
    kept = []
    for record in records:
        position = positions[record.topic]
        if position is not None and record.offset < position:
            ahead[record.topic] = position
        else:
            kept.append(record)
    for topic, position in ahead.items():
        if not any(r.topic == topic for r in kept):
            consumer.seek(TopicPartition(topic, owner.partition), position)
    return kept


def _rewind(consumer: AIOKafkaConsumer, records: list[InputRecord]) -> None:
    """Read the batch's records again: nothing of them was committed."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    for tp, offset in first.items():
        with contextlib.suppress(Exception):
            consumer.seek(tp, offset)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
