"""Rebuilding read models from offset 0 of `issue-events` into fresh generations.

The live generations keep serving (and the live projector keeps them current) while a
replay builds new ones beside them. Once every new generation has caught up with the end
of the log, retention is applied to it (so a replay does not bring back what already
expired), each read model switches its live generation in one transaction, and the old
generation's tables are dropped. What the log gains after the switch, the live projector
applies: it follows the switch from the new generation's stored positions.

The log is read once: a reader decodes each batch and hands it to every read model's sink
(`ReplaySinks`), each writing it in bulk in its own thread and its own transaction, with
its positions. A large log is read by several processes, each reading a share of the
partitions (`projections.replay_processes`), when the replay is given `parts` to build
them with.

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
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer

from infra.kafka_clients import KafkaConnection
from projections.issue_event_reader import IssueEventSink
from projections.issue_event_reading import log_bounds, reader_clients, topic_partitions
from projections.replay_processes import ProcessReading, ReplayParts, shares
from projections.replay_reading import InProcessReading, ReplayReading
from projections.retention import RetentionResult

log = logging.getLogger(__name__)

# Records per batch: each read model commits one transaction per batch.
REPLAY_BATCH = 5000
# A reader process takes a second or two to start: worth it for this many events.
EVENTS_PER_PROCESS = 100_000


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
    # What reader processes build for themselves; without it the replay reads in-process.
    parts: ReplayParts | None = None
    processes: int | None = None  # None: by the log's size (`_processes`)

    async def run(self) -> ReplaySummary:
        started = time.monotonic()
        builds: list[_Build] = []
        readings: list[ReplayReading] = []
        try:
            for target in self.targets:
                generation = target.begin_generation()
                builds.append(_Build(target, generation))
                log.info("replay: building %s generation %d", target.name, generation)
            events = await self._build(builds, readings, started)
            now = self.clock()
            models = [self._finish(build, now) for build in builds]
        except BaseException:
            await self._abandon(readings, builds)
            raise
        return ReplaySummary(events=events, seconds=time.monotonic() - started, models=models)

    async def _build(
        self, builds: list[_Build], readings: list[ReplayReading], started: float
    ) -> int:
        """Read until every sink has caught up with the log; returns the events read."""
        consumer, admin = reader_clients(self.kafka, "alertfold-replay")
        await consumer.start()
        await admin.start()
        try:
            first, end = await log_bounds(
                consumer, self.topic, await topic_partitions(admin, self.topic)
            )
            reading = self._start_reading(builds, first, end)
            readings.append(reading)
            while True:
                done = _done(reading.applied_offsets(), first, end)
                total = sum(end[p] - first[p] for p in end)
                self.on_progress(ReplayProgress(done, total, time.monotonic() - started))
                if self.interrupted.is_set():
                    raise ReplayInterrupted("replay interrupted")
                reading.check()
                if done >= total and await self._near_end(consumer, first, end):
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.progress_interval):
                        await self.interrupted.wait()
        finally:
            await consumer.stop()
            await admin.close()
        await reading.stop()
        return done

    def _start_reading(
        self, builds: list[_Build], first: dict[int, int], end: dict[int, int]
    ) -> ReplayReading:
        total = sum(end[p] - first[p] for p in end)
        processes = self._processes(len(end), total)
        log.info(
            "replay: reading %d events from %d partitions in %d process(es)",
            total,
            len(end),
            processes,
        )
        if processes > 1 and self.parts is not None:
            generations = {build.target.name: build.generation for build in builds}
            return ProcessReading(
                self.parts,
                self.topic,
                generations,
                shares(sorted(end), processes),
                max_records=self.max_records,
            )
        return InProcessReading(
            self.kafka,
            self.topic,
            [build.target.sink(build.generation) for build in builds],
            max_records=self.max_records,
        )

    def _processes(self, partitions: int, events: int) -> int:
        """How many processes read: as asked, else one per `EVENTS_PER_PROCESS` events up
        to one more than the cores (each waits on its databases part of the time: on two
        cores, three read a million events 15% faster than two, four no faster than three);
        never more than partitions, and one without `parts` to spawn with."""
        if self.parts is None or partitions <= 1:
            return 1
        cores = os.cpu_count() or 1
        wanted = self.processes or min(cores + 1, events // EVENTS_PER_PROCESS)
        return max(1, min(wanted, partitions))

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

    async def _abandon(self, readings: list[ReplayReading], builds: list[_Build]) -> None:
        """Stop reading and drop every generation not yet switched to."""
        for reading in readings:
            with contextlib.suppress(Exception):
                await reading.stop()
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
