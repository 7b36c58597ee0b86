"""One owned partition's inputs between the consumer and the fold: queued, then folded by the
partition's own task, one transaction at a time.

The worker's consumer reads every partition it owns; each partition folds on its own. A
partition whose transaction waits on the broker holds up none of the others, and the records
that arrive for it meanwhile go into its next transaction together: at a trickle a record
starts folding as soon as it is read, in a storm the transactions grow instead of
multiplying. A partition that falls far behind is paused at the consumer until its queue
drains, so a slow partition cannot fill the worker's memory.

A batch that fails commits nothing: the partition's consumer positions go back to the first
record of the batch (or of the queue behind it, which is dropped), and the lane tries again
after a pause. A partition whose writes are refused as fenced has been taken over: the lane
stops and hands its owner back to the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from enum import Enum

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import ProducerFenced

from agents.inputs import InputRecord
from agents.partition_owner import PartitionOwner
from infra.logs import one_line

log = logging.getLogger("alertfold.fold")

# Input records folded in one transaction at most.
BATCH_RECORDS = 5000
# Queued records past which the partition is paused at the consumer (resumed below a batch).
PAUSE_AT = 2 * BATCH_RECORDS
RETRY_SECONDS = 1.0


class PartitionLane:
    def __init__(
        self,
        owner: PartitionOwner,
        consumer: AIOKafkaConsumer,
        *,
        topics: Iterable[str],
        on_fenced: Callable[[PartitionOwner], Awaitable[None]],
    ) -> None:
        self.owner = owner
        self._consumer = consumer
        self._partitions = [TopicPartition(topic, owner.partition) for topic in topics]
        self._on_fenced = on_fenced
        self._queued: list[InputRecord] = []
        # Per input topic, the offset below which a record read is one already taken.
        self._next: dict[str, int] = {}
        self._paused = False
        self._work = asyncio.Event()
        self._work.set()  # a partition just taken over folds its first tick at once
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"fold-{owner.partition}")

    def offer(self, records: list[InputRecord]) -> None:
        """Queue the records read for this partition, past those already taken.

        The consumer may read from before where the lane stands: a partition taken over
        without the group's offsets (Kafka forgot them) is reset to the beginning by the
        consumer itself while it is assigned, whatever the worker seeks. Such records are
        dropped here, and the consumer sent ahead, so nothing is folded twice."""
        behind: dict[str, int] = {}
        taken: set[str] = set()
        for record in records:
            expected = self._expected(record.topic)
            if expected is not None and record.offset < expected:
                behind[record.topic] = expected
                continue
            self._queued.append(record)
            self._next[record.topic] = record.offset + 1
            taken.add(record.topic)
        for topic, expected in behind.items():
            if topic not in taken:
                self._consumer.seek(TopicPartition(topic, self.owner.partition), expected)
        if taken:
            self._work.set()
            if len(self._queued) >= PAUSE_AT:
                self._hold(True)

    def clock_reads(self, now: datetime) -> None:
        self.owner.clock_reads(now)
        if self.owner.tick_due is not None:
            self._work.set()

    async def close(self) -> None:
        """Stop once the batch in progress has committed (or failed); the queue is dropped."""
        self._closing.set()
        self._work.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def _expected(self, topic: str) -> int | None:
        if topic not in self._next:
            position = self.owner.position(topic)
            if position is None:
                return None
            self._next[topic] = position
        return self._next[topic]

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._work.wait()
            self._work.clear()
            if self._closing.is_set():
                return
            records = self._take()
            if not records and self.owner.tick_due is None:
                continue
            outcome = await self._fold(records)
            if outcome is _Outcome.FENCED:
                return
            if outcome is _Outcome.FAILED:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_SECONDS):
                        await self._closing.wait()
                self._work.set()
            elif self._queued:
                self._work.set()

    def _take(self) -> list[InputRecord]:
        records = self._queued[:BATCH_RECORDS]
        del self._queued[:BATCH_RECORDS]
        if len(self._queued) < BATCH_RECORDS:
            self._hold(False)
        return records

    def _hold(self, held: bool) -> None:
        """Pause or resume reading the partition (revoked meanwhile, it is neither)."""
        if held != self._paused:
            with contextlib.suppress(Exception):
                if held:
                    self._consumer.pause(*self._partitions)
                else:
                    self._consumer.resume(*self._partitions)
            self._paused = held

    async def _fold(self, records: list[InputRecord]) -> _Outcome:
        try:
            await self.owner.fold(records)
            return _Outcome.COMMITTED
        except ProducerFenced:
            log.warning(
                "partition %d: another worker took it over; leaving it until it is given back",
                self.owner.partition,
            )
            self._closing.set()
            await self._on_fenced(self.owner)
            return _Outcome.FENCED
        except Exception as error:
            log.warning(
                "partition %d: folding %d record(s) failed, nothing of them committed "
                "(retrying): %s",
                self.owner.partition,
                len(records),
                one_line(error),
            )
            self._rewind(records)
            return _Outcome.FAILED

    def _rewind(self, failed: list[InputRecord]) -> None:
        """Read the failed batch and the queue behind it again: nothing of them committed."""
        first: dict[str, int] = {}
        for record in (*failed, *self._queued):
            first[record.topic] = min(first.get(record.topic, record.offset), record.offset)
        self._queued.clear()
        for topic, offset in first.items():
            self._next[topic] = offset
            with contextlib.suppress(Exception):
                self._consumer.seek(TopicPartition(topic, self.owner.partition), offset)
        self._hold(False)


class _Outcome(Enum):
    COMMITTED = "committed"
    FAILED = "failed"
    FENCED = "fenced"
