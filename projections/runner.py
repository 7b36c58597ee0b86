"""Feeds the lookup store from `issue-events`.

The projector keeps its Kafka position in the store, written in the same transaction as the
rows (see `projections.lookup_store`), and not in a consumer group: it assigns itself every
partition, seeks to the stored positions, and a restart therefore resumes exactly after the
last committed batch. Several projector processes may run at once (each a full copy);
their writes are idempotent because rows only ever move to newer issue versions.

A projector writes one generation of the view. By default it owns the live generation and
follows a replay's switch: its next write is refused (`GenerationRetired`, nothing written),
so it seeks every partition to the new generation's stored positions and carries on from
there, neither skipping nor re-applying what the replay already wrote. A replay runs a
projector pinned to the generation it builds. The live projector also applies retention
(`projections.retention`) every `retention_interval` seconds, at the injected clock's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from projections.catching_up import CatchingUp
from projections.generations import GenerationRetired
from projections.issue_event_reading import (
    Record,
    decode_records,
    one_line,
    reader_clients,
    stop_consumer,
    topic_partitions,
)
from projections.lookup_store import LookupStore
from projections.retention import RetentionPolicy

log = logging.getLogger(__name__)


class LookupProjector(CatchingUp):
    """An asyncio loop: poll a batch, decode it, apply it in a worker thread, repeat.

    `applied_offsets` (partition → next offset, as committed to the store) and the counters
    are for tests, health checks and metrics: `applied` counts decoded records committed
    (replayed duplicates included, though they changed nothing), `skipped` undecodable
    records, `errors` failed attempts to write a batch (each retried).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        store: LookupStore,
        projection: str = "lookup",
        *,
        max_records: int = 1000,
        poll_timeout_ms: int = 200,
        retry_backoff: float = 0.5,
        max_retry_backoff: float = 5.0,
        partition_refresh_interval: float = 30.0,
        generation: int | None = None,
        retention: RetentionPolicy | None = None,
        retention_interval: float = 3600.0,
        generation_check_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        # None: own the live generation and follow switches; a number: build that one only.
        self.pinned_generation = generation
        self.retention = retention
        self.retention_interval = retention_interval
        self.generation_check_interval = generation_check_interval
        self.clock = clock

        self.applied = 0
        self.skipped = 0
        self.errors = 0

        self._consumer: AIOKafkaConsumer | None = None
        self._positions: dict[int, int] = {}
        self._generation: int | None = generation
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()
        self._running = False
        self._failure: BaseException | None = None
        self._finished = asyncio.Event()
        self._finished.set()

    # -- public --------------------------------------------------------------------------

    @property
    def applied_offsets(self) -> dict[int, int]:
        """Partition → next offset to read; everything before it is in the store."""
        return dict(self._positions)

    @property
    def generation(self) -> int | None:
        """The generation of the view this projector writes (None before it starts)."""
        return self._generation

    @property
    def ready(self) -> bool:
        """Whether partitions are assigned and positioned (the projector is consuming)."""
        return self._ready.is_set()

    async def run(self) -> None:
        """Consume and apply until `stop()` is called (or the task is cancelled).

        A stopped projector stays stopped; a restart is a new `LookupProjector` on the same
        store, which resumes from the stored positions.
        """
        if self._running:
            raise RuntimeError("this projector is already running")
        self._running = True
        self._finished.clear()
        try:
            clients = await self._connect()
            if clients is None:
                return
            consumer, admin = clients
            self._consumer = consumer
            try:
                partitions = await self._wait_for_partitions(admin)
                if partitions is None:
                    return
                await self._assign(consumer, partitions)
                await self._consume(consumer, admin)
            finally:
                self._ready.clear()
                self._consumer = None
                await stop_consumer(consumer)
                await admin.close()
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

    # -- start-up ------------------------------------------------------------------------

    async def _connect(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None:
        """A started consumer and admin client, retrying while Kafka is unreachable."""
        backoff = self.retry_backoff
        client_id = f"alertfold-projection-{self.projection}"
        while not self._stopping.is_set():
            consumer, admin = reader_clients(self.bootstrap_servers, client_id)
            try:
                await consumer.start()
                await admin.start()
            except Exception as exc:
                await stop_consumer(consumer)
                await admin.close()
                log.warning(
                    "projection %s: cannot reach Kafka at %s (%s); retrying in %.1fs",
                    self.projection,
                    self.bootstrap_servers,
                    one_line(exc),
                    backoff,
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_retry_backoff)
                continue
            return consumer, admin
        return None

    async def _wait_for_partitions(self, admin: AIOKafkaAdminClient) -> set[int] | None:
        """The topic's partitions, waiting (with a log line) while the topic does not exist."""
        backoff = self.retry_backoff
        while not self._stopping.is_set():
            try:
                partitions = await topic_partitions(admin, self.topic)
            except Exception as exc:
                log.warning("projection %s: metadata request failed (%s)", self.projection, exc)
                partitions = set()
            if partitions:
                return partitions
            log.info(
                "projection %s: topic %s has no partitions yet; retrying in %.1fs",
                self.projection,
                self.topic,
                backoff,
            )
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.max_retry_backoff)
        return None

    async def _assign(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        """Assign every partition and position each at its stored offset (or the start)."""
        self._ready.clear()
        if self.pinned_generation is None:
            self._generation = await asyncio.to_thread(self.store.live_generation)
        stored = await asyncio.to_thread(
            self.store.positions, self.projection, self.topic, generation=self._generation
        )
        assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
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
            "projection %s: consuming %s partitions %s from %s into generation %s",
            self.projection,
            self.topic,
            sorted(partitions),
            self._positions,
            self._generation,
        )
        self._ready.set()

    # -- the loop ------------------------------------------------------------------------

    async def _consume(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        next_refresh = time.monotonic() + self.partition_refresh_interval
        next_retention = time.monotonic()
        next_generation_check = time.monotonic() + self.generation_check_interval
        while not self._stopping.is_set():
            batch = await consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            # Decoding a thousand records takes milliseconds: off the loop, like the writes.
            records = await asyncio.to_thread(self._decode, batch) if batch else []
            advanced = await self._consumed_positions(consumer, self._positions)
            if records or advanced:
                try:
                    await self._apply(records, advanced)
                except GenerationRetired:
                    await self._follow_switch(consumer)
            elif time.monotonic() >= next_generation_check:
                # Idle: a write would find out about a switch, but nothing is written.
                next_generation_check = time.monotonic() + self.generation_check_interval
                if await self._generation_replaced():
                    await self._follow_switch(consumer)
            if self.retention is not None and time.monotonic() >= next_retention:
                next_retention = time.monotonic() + self.retention_interval
                await self._apply_retention(self.retention)
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + self.partition_refresh_interval
                await self._refresh_partitions(consumer, admin)

    def _decode(
        self, batch: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> list[Record]:
        records, skipped = decode_records(batch, self.projection)
        self.skipped += skipped
        return records

    async def _consumed_positions(
        self, consumer: AIOKafkaConsumer, known_positions: Mapping[int, int]
    ) -> dict[int, int]:
        """Partitions whose consumer position moved past the given (stored or scheduled) one.

        The position, not the last record's offset, is what gets stored: it also steps over
        skipped values and transaction markers, which never reach the application.
        """
        advanced: dict[int, int] = {}
        for partition, known in known_positions.items():
            position: int = await consumer.position(TopicPartition(self.topic, partition))
            if position > known:
                advanced[partition] = position
        return advanced

    async def _apply(self, records: list[Record], positions: dict[int, int]) -> None:
        """Apply one batch, retrying while the database is unavailable.

        The batch is never dropped: until it is committed the projector does not move on,
        and if it is stopped meanwhile the stored positions still point before the batch.
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
                    generation=self._generation,
                )
            except GenerationRetired:
                raise
            except Exception:
                self.errors += 1
                log.exception(
                    "projection %s: applying %d records failed; retrying in %.1fs",
                    self.projection,
                    len(records),
                    backoff,
                )
                if self._stopping.is_set():
                    return
                await self._sleep(backoff)
                if self._stopping.is_set():
                    return
                backoff = min(backoff * 2, self.max_retry_backoff)
                continue
            break
        self.applied += len(records)
        for partition, offset, _event in records:
            positions[partition] = max(positions.get(partition, 0), offset + 1)
        for partition, position in positions.items():
            self._positions[partition] = max(self._positions.get(partition, 0), position)

    async def _follow_switch(self, consumer: AIOKafkaConsumer) -> None:
        """Move to the live generation, from its positions; the refused batch is re-read."""
        if self.pinned_generation is not None:
            raise RuntimeError(
                f"projection {self.projection}: generation {self.pinned_generation} "
                "was replaced or abandoned while being built"
            )
        retired = self._generation
        await self._assign(consumer, set(self._positions))
        log.info(
            "projection %s: generation %s was replaced; now writing generation %s",
            self.projection,
            retired,
            self._generation,
        )

    async def _generation_replaced(self) -> bool:
        if self.pinned_generation is not None:
            return False
        try:
            live = await asyncio.to_thread(self.store.live_generation)
        except Exception as exc:
            log.warning("projection %s: generation check failed (%s)", self.projection, exc)
            return False
        return live != self._generation

    async def _apply_retention(self, policy: RetentionPolicy) -> None:
        """One retention pass; a failure is logged and retried at the next interval."""
        try:
            result = await asyncio.to_thread(
                self.store.apply_retention, self.clock(), policy, generation=self._generation
            )
        except GenerationRetired:
            return  # the next batch moves to the new generation
        except Exception:
            log.exception("projection %s: retention failed", self.projection)
            return
        if result.issues_deleted or result.alerts_stripped:
            log.info(
                "projection %s: retention removed %d closed issues, stripped %d alerts",
                self.projection,
                result.issues_deleted,
                result.alerts_stripped,
            )

    async def _refresh_partitions(
        self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient
    ) -> bool:
        """Pick up partitions added to the topic since start-up; tells whether there were."""
        try:
            partitions = await topic_partitions(admin, self.topic)
        except Exception as exc:
            log.warning("projection %s: metadata refresh failed (%s)", self.projection, exc)
            return False
        if not partitions - set(self._positions):
            return False
        log.info(
            "projection %s: %s now has partitions %s",
            self.projection,
            self.topic,
            sorted(partitions),
        )
        await self._assign(consumer, partitions | set(self._positions))
        return True

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when `stop()` is called."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
