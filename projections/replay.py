"""Rebuilding read models from offset 0 of `issue-events` into fresh generations.

The live generations keep serving (and the live projector keeps them current) while a
replay builds new ones beside them. Once every new generation has caught up with the end
of the log, retention is applied to it (so a replay does not bring back what already
expired), each read model switches its live generation in one transaction, and the old
generation's tables are dropped. What the log gains after the switch, the live projector
applies: it follows the switch from the new generation's stored positions.

The log is read once: one reader decodes each batch and hands it to every read model's sink
(`ReplaySinks`), each writing it in bulk in its own thread and its own transaction, with
its positions.

An interrupted or failed replay stops its reader and drops what it built; the live
generations are never touched before the switch. Replays are meant to run one at a time: a
replay that finds another's unfinished generation takes it for an interrupted one and drops
it (and the other replay then fails at its switch).

Read models plug in through `ReplayTarget`; the lookup view is `LookupReplayTarget`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer

from infra.kafka_clients import KafkaConnection
from projections.issue_event_reader import Chore, IssueEventReader, IssueEventSink
from projections.issue_event_reading import (
    Record,
    log_bounds,
    reader_clients,
    topic_partitions,
)
from projections.retention import RetentionResult

log = logging.getLogger(__name__)

# Records per batch: each read model commits one transaction per batch.
REPLAY_BATCH = 5000


class ReplaySinks:
    """Every read model's sink behind one reader, so the log is read and decoded once.

    A batch goes to all sinks at once, each in its own thread (their databases do the work
    without holding the interpreter); it counts as applied when all have committed it, and a
    failure makes the reader retry it on all, which sinks take as the no-op it is for them.
    """

    name = "replay"

    def __init__(self, sinks: Sequence[IssueEventSink]) -> None:
        self.sinks = list(sinks)
        self._threads = ThreadPoolExecutor(max(len(self.sinks), 1), "replay-sink")

    def positions(self, topic: str, partitions: Collection[int]) -> dict[int, int]:
        """Where the slowest sink stands on each partition (none: from the beginning)."""
        stored = [sink.positions(topic, partitions) for sink in self.sinks]
        return {
            p: min(found[p] for found in stored)
            for p in partitions
            if all(p in found for found in stored)
        }

    def apply(self, topic: str, records: Sequence[Record], next_offsets: Mapping[int, int]) -> None:
        applying = [
            self._threads.submit(sink.apply, topic, records, next_offsets) for sink in self.sinks
        ]
        for done in applying:
            done.result()

    def chores(self) -> list[Chore]:
        return [chore for sink in self.sinks for chore in sink.chores()]

    def close(self) -> None:
        self._threads.shutdown(wait=False)


class ReplayTarget(Protocol):
    """A read model that `alertfold replay` can rebuild into a new generation."""

    @property
    def name(self) -> str: ...

    def begin_generation(self) -> int:
        """Allocate a generation to build and create its (empty) tables."""
        ...

    def sink(self, generation: int) -> IssueEventSink:
        """A sink that writes only `generation`, from its stored positions."""
        ...

    def apply_retention(self, generation: int, now: datetime) -> RetentionResult: ...

    def switch_to(self, generation: int) -> int:
        """Make `generation` live in one transaction; returns the generation replaced."""
        ...

    def drop_generation(self, generation: int) -> None:
        """Remove a replaced or unfinished generation's tables."""
        ...

    def counts(self, generation: int) -> dict[str, int]:
        """What the generation holds, for the summary (e.g. `{"issues": 1200}`)."""
        ...


class ReplayInterrupted(Exception):
    """The replay was asked to stop; the live generations are unchanged."""


@dataclass(frozen=True)
class ReplayProgress:
    done: int
    total: int
    elapsed: float


@dataclass
class ReplayedModel:
    name: str
    generation: int
    replaced: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    retention: RetentionResult = field(default_factory=RetentionResult)


@dataclass(frozen=True)
class ReplaySummary:
    events: int
    seconds: float
    models: list[ReplayedModel]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Build:
    target: ReplayTarget
    generation: int
    switched: bool = False


@dataclass
class _Reading:
    """The one reader of a replay, feeding every build's sink."""

    reader: IssueEventReader[ReplaySinks]
    task: asyncio.Task[None] | None = None


@dataclass
class Replay:
    """One replay of `topic` into `targets`; `run()` once.

    `on_progress` is called every `progress_interval` seconds and once at the end, then
    `interrupted` is checked: setting it (a signal handler, or the progress callback
    itself) stops the replay before anything is switched.
    """

    kafka: KafkaConnection
    topic: str
    targets: Sequence[ReplayTarget]
    clock: Callable[[], datetime]
    on_progress: Callable[[ReplayProgress], None] = lambda _progress: None
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    progress_interval: float = 0.2
    # Switch once the log's end is at most this many records ahead of the new generations;
    # the live projector, following the switch, applies them.
    switch_lag: int = 1000
    max_records: int = REPLAY_BATCH

    async def run(self) -> ReplaySummary:
        started = time.monotonic()
        builds: list[_Build] = []
        reading: _Reading | None = None
        try:
            for target in self.targets:
                generation = target.begin_generation()
                builds.append(_Build(target, generation))
                log.info("replay: building %s generation %d", target.name, generation)
            sinks = ReplaySinks([b.target.sink(b.generation) for b in builds])
            reading = _Reading(
                IssueEventReader(self.kafka, self.topic, sinks, max_records=self.max_records)
            )
            events = await self._build(reading, started)
            now = self.clock()
            models = [self._finish(build, now) for build in builds]
        except BaseException:
            await self._abandon(reading, builds)
            raise
        finally:
            if reading is not None:
                reading.reader.sink.close()
        return ReplaySummary(events=events, seconds=time.monotonic() - started, models=models)

    async def _build(self, reading: _Reading, started: float) -> int:
        """Run the reader until every sink has caught up; returns the events read."""
        reading.task = asyncio.create_task(reading.reader.run())
        consumer, admin = reader_clients(self.kafka, "alertfold-replay")
        await consumer.start()
        await admin.start()
        try:
            first, end = await log_bounds(
                consumer, self.topic, await topic_partitions(admin, self.topic)
            )
            while True:
                done = _done(reading.reader.applied_offsets, first, end)
                total = sum(end[p] - first[p] for p in end)
                self.on_progress(ReplayProgress(done, total, time.monotonic() - started))
                if self.interrupted.is_set():
                    raise ReplayInterrupted("replay interrupted")
                _check_reader(reading)
                if done >= total and await self._near_end(consumer, first, end):
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.progress_interval):
                        await self.interrupted.wait()
        finally:
            await consumer.stop()
            await admin.close()
        await _stop_reader(reading)
        return done

    async def _near_end(
        self, consumer: AIOKafkaConsumer, first: dict[int, int], end: dict[int, int]
    ) -> bool:
        """Whether the log's current end is close enough to switch; else move the target."""
        latest_first, latest_end = await log_bounds(consumer, self.topic, set(end))
        lag = sum(latest_end[p] - end[p] for p in end)
        if lag <= self.switch_lag:
            return True
        log.info("replay: %d more events arrived meanwhile; catching up with them", lag)
        first.update({p: min(first[p], latest_first[p]) for p in first})
        end.update(latest_end)
        return False

    def _finish(self, build: _Build, now: datetime) -> ReplayedModel:
        target = build.target
        retention = target.apply_retention(build.generation, now)
        replaced = target.switch_to(build.generation)
        build.switched = True
        log.info("replay: %s generation %d is live", target.name, build.generation)
        target.drop_generation(replaced)
        return ReplayedModel(
            name=target.name,
            generation=build.generation,
            replaced=replaced,
            counts=target.counts(build.generation),
            retention=retention,
        )

    async def _abandon(self, reading: _Reading | None, builds: list[_Build]) -> None:
        """Stop the reader and drop every generation not yet switched to."""
        if reading is not None:
            with contextlib.suppress(Exception):
                await _stop_reader(reading)
        for build in builds:
            if build.switched:
                continue
            try:
                build.target.drop_generation(build.generation)
                log.info(
                    "replay: dropped the unfinished %s generation %d",
                    build.target.name,
                    build.generation,
                )
            except Exception:
                log.exception(
                    "replay: could not drop %s generation %d (the next replay will)",
                    build.target.name,
                    build.generation,
                )


def _done(applied: Mapping[int, int], first: dict[int, int], end: dict[int, int]) -> int:
    """Records applied by every sink, counting only those before `end`."""
    return sum(max(min(applied.get(p, first[p]), end[p]) - first[p], 0) for p in end)


def _check_reader(reading: _Reading) -> None:
    task = reading.task
    if task is not None and task.done():
        failure = None if task.cancelled() else task.exception()
        raise RuntimeError(f"replay: the reader stopped: {failure!r}") from failure


async def _stop_reader(reading: _Reading) -> None:
    task = reading.task
    if task is None:
        return
    if not task.done():
        await reading.reader.stop()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task
