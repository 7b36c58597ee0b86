"""`alertfold worker`: folds the input partitions this process owns, beside its peers.

Workers share `alerts`, `ticks` and `interactions` through one consumer group whose range
assignment gives a member the same partition number of all three, so one worker owns a
channel's every input (DESIGN.md invariant 1). For each partition it owns, a
`PartitionOwner` folds batches, one Kafka transaction each, with its own transactional
producer; its `PartitionLane` queues what the consumer reads for it and folds it in its own
task, so the partitions fold side by side and none waits on another's transaction.

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
from aiokafka.errors import KafkaError

from agents.channel_actors import ChannelActors
from agents.fold_state import read_partition_state, split_positions
from agents.inputs import InputRecord
from agents.issue_table import alerting_settings_of
from agents.metrics import PARTITIONS_OWNED
from agents.partition_lane import BATCH_RECORDS, RETRY_SECONDS, PartitionLane
from agents.partition_owner import PartitionOwner, WorkerTopics, transactional_producer
from domain.alerting import OFF, AlertingSettings
from domain.routing import RouteTable
from infra.kafka_clients import KafkaConnection
from infra.logs import one_line
from infra.metrics import ConsumerLag

log = logging.getLogger("alertfold.fold")


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
        self.lanes: dict[int, PartitionLane] = {}
        self._released: dict[int, PartitionOwner] = {}
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._lag = ConsumerLag("fold")
        self.ready = False  # a member of the group, folding what it was given

    @property
    def partitions_owned(self) -> list[int]:
        return sorted(self.lanes)

    async def run(self) -> None:
        consumer = await self._connected_consumer()
        if consumer is None:
            return
        clock = asyncio.create_task(self._run_clock(), name="fold-clock")
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=BATCH_RECORDS)
                # Records read while partitions change hands wait for the new lanes: a taken
                # partition's first records may come before its lane exists.
                async with self._lock:
                    self._hand_out(batch)
                await self._lag.observe(consumer)
        finally:
            self.ready = False
            self._lag.clear()
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            async with self._lock:
                owners = await self._stop_lanes(self.lanes.values())
                self.lanes = {}
                await self._close(owners, self._released)
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await consumer.stop()

    async def stop(self) -> None:
        self._stopping.set()

    def _hand_out(self, batch: Mapping[TopicPartition, list[Any]]) -> None:
        """Each owned partition's records to its lane, the input topics in a fixed order."""
        records: dict[int, list[InputRecord]] = {}
        for topic in self._topics.inputs.all:
            for tp, messages in batch.items():
                if tp.topic == topic:
                    records.setdefault(tp.partition, []).extend(map(InputRecord.consumed, messages))
        for partition, read in records.items():
            lane = self.lanes.get(partition)
            if lane is not None:
                lane.offer(read)

    async def _fenced(self, owner: PartitionOwner) -> None:
        """Another worker took the partition over: this one leaves it until it is given back."""
        lane = self.lanes.get(owner.partition)
        if lane is not None and lane.owner is owner:
            del self.lanes[owner.partition]
            PARTITIONS_OWNED.set(len(self.lanes))
        await owner.close()

    # -- partitions coming and going -----------------------------------------------------

    async def released(self, revoked: Iterable[TopicPartition]) -> None:
        """The group takes partitions back; the batch in progress finished first."""
        async with self._lock:
            partitions = {tp.partition for tp in revoked}
            leaving = [self.lanes.pop(p) for p in partitions if p in self.lanes]
            self._released.update(await self._stop_lanes(leaving))

    async def assigned(
        self, consumer: AIOKafkaConsumer, assigned: Iterable[TopicPartition]
    ) -> None:
        partitions = sorted({tp.partition for tp in assigned})
        async with self._lock:
            # Lanes left running (a revocation not heard of) hand their owners over too.
            self._released.update(await self._stop_lanes(self.lanes.values()))
            self.lanes = {}
            gone = {p: o for p, o in self._released.items() if p not in partitions}
            await self._close(gone)
            started = time.monotonic()
            owners = await asyncio.gather(*(self._take(consumer, p) for p in partitions))
            self._released.clear()
            self.lanes = {
                owner.partition: PartitionLane(
                    owner, consumer, topics=self._topics.inputs.all, on_fenced=self._fenced
                )
                for owner in owners
            }
            PARTITIONS_OWNED.set(len(self.lanes))
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
                    one_line(error),
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

    async def _stop_lanes(self, lanes: Iterable[PartitionLane]) -> dict[int, PartitionOwner]:
        """Each lane stopped once its batch in progress is done; their owners, still open."""
        stopping = list(lanes)
        await asyncio.gather(*(lane.close() for lane in stopping))
        return {lane.owner.partition: lane.owner for lane in stopping}

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
            for lane in list(self.lanes.values()):
                lane.clock_reads(now)

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
                log.warning("cannot reach Kafka (%s); retrying in %.0fs", one_line(error), backoff)
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
