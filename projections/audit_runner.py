"""`alertfold auditor`: feeds the audit store from `issue-events`.

Like the lookup projector it reads every partition itself (no consumer group) and keeps its
positions in its store, committed with the events (`projections.audit_store`), so a restart
resumes after the last committed batch and several auditors may run at once. The Kafka
reading is shared with the projector (`projections.issue_event_reading`); this loop only
has none of the lookup view's generations and retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from projections.audit_store import AuditStore
from projections.issue_event_reading import (
    Record,
    decode_records,
    one_line,
    reader_clients,
    stop_consumer,
    topic_partitions,
)

log = logging.getLogger(__name__)


class Auditor:
    """Poll a batch, decode it, record it in a worker thread, repeat; until `stop()`.

    `applied` counts decoded records committed (duplicates included), `skipped` undecodable
    records, `errors` failed attempts to write a batch (each retried until it succeeds).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        store: AuditStore,
        projection: str = "audit",
        *,
        max_records: int = 1000,
        poll_timeout_ms: int = 200,
        retry_backoff: float = 0.5,
        max_retry_backoff: float = 5.0,
        partition_refresh_interval: float = 30.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.store = store
        self.projection = projection
        self.max_records = max_records
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_backoff = retry_backoff
        self.max_retry_backoff = max_retry_backoff
        self.partition_refresh_interval = partition_refresh_interval
        self.applied = 0
        self.skipped = 0
        self.errors = 0
        self._positions: dict[int, int] = {}
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._finished.set()

    @property
    def applied_offsets(self) -> dict[int, int]:
        """Partition → next offset to read; everything before it is in the store."""
        return dict(self._positions)

    async def run(self) -> None:
        """Consume and record until `stop()`; a stopped auditor stays stopped."""
        self._finished.clear()
        try:
            await self._run()
        finally:
            self._finished.set()

    async def stop(self) -> None:
        """Ask `run()` to finish after the batch in progress, and wait until it has."""
        self._stopping.set()
        await self._finished.wait()

    async def _run(self) -> None:
        client_id = f"alertfold-projection-{self.projection}"
        backoff = self.retry_backoff
        while not self._stopping.is_set():
            consumer, admin = reader_clients(self.bootstrap_servers, client_id)
            try:
                await consumer.start()
                await admin.start()
                partitions = await topic_partitions(admin, self.topic)
                if not partitions:
                    raise LookupError(f"topic {self.topic} has no partitions yet")
                backoff = self.retry_backoff
                await self._assign(consumer, partitions)
                await self._consume(consumer, admin)
            except Exception as exc:
                log.warning(
                    "audit: cannot read %s from %s (%s); retrying in %.1fs",
                    self.topic,
                    self.bootstrap_servers,
                    one_line(exc),
                    backoff,
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_retry_backoff)
            finally:
                await stop_consumer(consumer)
                await admin.close()

    async def _assign(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        """Assign every partition, each at its stored position (or the beginning)."""
        stored = await asyncio.to_thread(
            self.store.positions, self.projection, self.topic, partitions
        )
        assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        fresh = [tp for tp in assignment if tp.partition not in stored]
        for tp in assignment:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        self._positions = {tp.partition: await consumer.position(tp) for tp in assignment}
        log.info("audit: recording %s from %s", self.topic, self._positions)

    async def _consume(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        next_refresh = time.monotonic() + self.partition_refresh_interval
        next_generation_check = time.monotonic() + 1.0
        while not self._stopping.is_set():
            if time.monotonic() >= next_generation_check:
                next_generation_check = time.monotonic() + 1.0
                if await asyncio.to_thread(self.store.follow_live):
                    return  # a replay switched generations: resume from the new one's positions
            batch = await consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            records: list[Record] = []
            if batch:
                records, skipped = await asyncio.to_thread(decode_records, batch, self.projection)
                self.skipped += skipped
            # The consumer's position also steps over skipped values and transaction markers.
            advanced: dict[int, int] = {}
            for partition, known in self._positions.items():
                position = await consumer.position(TopicPartition(self.topic, partition))
                if position > known:
                    advanced[partition] = position
            if advanced and not await self._apply(records, advanced):
                return
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.partition_refresh_interval
                partitions = await topic_partitions(admin, self.topic)
                if partitions - set(self._positions):
                    await self._assign(consumer, partitions | set(self._positions))

    async def _apply(self, records: list[Record], positions: dict[int, int]) -> bool:
        """Record one batch, retrying while the database is unavailable; never drop it.

        False when stopped, or moved to another generation, before the batch could be
        committed: the stored positions still point before it, so it is read again.
        """
        backoff = self.retry_backoff
        while True:
            try:
                await asyncio.to_thread(
                    self.store.apply_batch,
                    self.projection,
                    self.topic,
                    records,
                    next_offsets=positions,
                )
                break
            except Exception:
                if await asyncio.to_thread(self.store.follow_live):
                    return False  # a replay retired this generation: resume on the live one
                self.errors += 1
                log.exception(
                    "audit: recording %d events failed; retrying in %.1fs", len(records), backoff
                )
                await self._sleep(backoff)
                if self._stopping.is_set():
                    return False
                backoff = min(backoff * 2, self.max_retry_backoff)
        self.applied += len(records)
        self._positions.update(positions)
        return True

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when `stop()` is called."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
