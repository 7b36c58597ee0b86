"""Rebuilding read models from offset 0 of `issue-events` into fresh generations.

The live generations keep serving (and the live projector keeps them current) while a
replay builds new ones beside them. Once every new generation has caught up with the end
of the log, retention is applied to it (so a replay does not bring back what already
expired), each read model switches its live generation in one transaction, and the old
generation's tables are dropped. What the log gains after the switch, the live projector
applies: it follows the switch from the new generation's stored positions.

An interrupted or failed replay stops its projectors and drops what it built; the live
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiokafka import AIOKafkaConsumer

from projections.issue_event_reading import log_bounds, reader_clients, topic_partitions
from projections.retention import RetentionResult

log = logging.getLogger(__name__)


class GenerationProjector(Protocol):
    """What the replay needs from a projector writing one generation."""

    @property
    def applied_offsets(self) -> dict[int, int]: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class ReplayTarget(Protocol):
    """A read model that `alertfold replay` can rebuild into a new generation."""

    @property
    def name(self) -> str: ...

    def begin_generation(self) -> int:
        """Allocate a generation to build and create its (empty) tables."""
        ...

    def projector(self, generation: int) -> GenerationProjector:
        """A projector that writes only `generation`, from its stored positions."""
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
    projector: GenerationProjector
    task: asyncio.Task[None] | None = None
    switched: bool = False


@dataclass
class Replay:
    """One replay of `topic` into `targets`; `run()` once.

    `on_progress` is called every `progress_interval` seconds and once at the end, then
    `interrupted` is checked: setting it (a signal handler, or the progress callback
    itself) stops the replay before anything is switched.
    """

    bootstrap_servers: str
    topic: str
    targets: Sequence[ReplayTarget]
    clock: Callable[[], datetime]
    on_progress: Callable[[ReplayProgress], None] = lambda _progress: None
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    progress_interval: float = 0.2
    # Switch once the log's end is at most this many records ahead of the new generations;
    # the live projector, following the switch, applies them.
    switch_lag: int = 1000

    async def run(self) -> ReplaySummary:
        started = time.monotonic()
        builds: list[_Build] = []
        try:
            for target in self.targets:
                generation = target.begin_generation()
                builds.append(_Build(target, generation, target.projector(generation)))
                log.info("replay: building %s generation %d", target.name, generation)
            events = await self._build(builds, started)
            now = self.clock()
            models = [self._finish(build, now) for build in builds]
        except BaseException:
            await self._abandon(builds)
            raise
        return ReplaySummary(events=events, seconds=time.monotonic() - started, models=models)

    async def _build(self, builds: list[_Build], started: float) -> int:
        """Run every projector until all have caught up; returns the events read."""
        for build in builds:
            build.task = asyncio.create_task(build.projector.run())
        consumer, admin = reader_clients(self.bootstrap_servers, "alertfold-replay")
        await consumer.start()
        await admin.start()
        try:
            first, end = await log_bounds(
                consumer, self.topic, await topic_partitions(admin, self.topic)
            )
            while True:
                done = _slowest_done(builds, first, end)
                total = sum(end[p] - first[p] for p in end)
                self.on_progress(ReplayProgress(done, total, time.monotonic() - started))
                if self.interrupted.is_set():
                    raise ReplayInterrupted("replay interrupted")
                _check_projectors(builds)
                if done >= total and await self._near_end(consumer, first, end):
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.progress_interval):
                        await self.interrupted.wait()
        finally:
            await consumer.stop()
            await admin.close()
        await _stop_projectors(builds)
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

    async def _abandon(self, builds: list[_Build]) -> None:
        """Stop the projectors and drop every generation not yet switched to."""
        with contextlib.suppress(Exception):
            await _stop_projectors(builds)
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


def _slowest_done(builds: list[_Build], first: dict[int, int], end: dict[int, int]) -> int:
    """Records read by the slowest projector, counting only those before `end`."""
    if not builds:
        return sum(end[p] - first[p] for p in end)
    return min(
        sum(
            max(min(build.projector.applied_offsets.get(p, first[p]), end[p]) - first[p], 0)
            for p in end
        )
        for build in builds
    )


def _check_projectors(builds: list[_Build]) -> None:
    for build in builds:
        task = build.task
        if task is not None and task.done():
            failure = None if task.cancelled() else task.exception()
            raise RuntimeError(
                f"replay: the {build.target.name} projector stopped: {failure!r}"
            ) from failure


async def _stop_projectors(builds: list[_Build]) -> None:
    for build in builds:
        task = build.task
        if task is None:
            continue
        if not task.done():
            await build.projector.stop()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
