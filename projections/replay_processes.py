"""A replay read by several processes, each reading its share of the partitions.

One process decodes, builds rows and writes about 20,000 events a second, and most of that
is Python holding the interpreter, so more threads do not help. Partitions are
independent: every sink keeps its positions per partition, and its writes are idempotent
and ordered by version whichever process writes first (as for two projectors of one view).
So a large replay splits the partitions among processes, each reading its share with its
own sinks into the same new generations. The replay itself only watches them: it merges the
positions they report, notices one that failed, and stops them all once the log's end is
reached.

Children are spawned, not forked (the replay runs an event loop and threads), so what they
need crosses as a picklable `ReplayParts` (settings, not connections). They leave Ctrl-C to
the replay, which asks them to stop, and stop by themselves when the replay's process is
gone.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from typing import Protocol

from infra.kafka_clients import KafkaConnection
from infra.logs import one_line
from projections.issue_event_reader import IssueEventReader, IssueEventSink
from projections.replay_reading import ReplaySinks

log = logging.getLogger(__name__)

# How often a child reports its positions (seconds).
REPORT_INTERVAL = 0.1
# How long a child may take to finish its batch in progress once asked to stop (seconds).
STOP_TIMEOUT = 60.0


class ReplayParts(Protocol):
    """What a replay process builds for itself. Must pickle: it crosses to a new process."""

    def enter_process(self) -> None:
        """Called first in each child (logging, interpreter settings)."""
        ...

    def kafka(self) -> KafkaConnection: ...

    def sinks(self, generations: Mapping[str, int]) -> list[IssueEventSink]:
        """A sink per read model, writing the generation named for it."""
        ...


def shares(partitions: Sequence[int], processes: int) -> list[list[int]]:
    """The partitions dealt out to `processes` readers, as evenly as they go."""
    ordered = sorted(partitions)
    count = max(1, min(processes, len(ordered)))
    return [ordered[i::count] for i in range(count)]


class _Child:
    def __init__(self, process: SpawnProcess, reports: Connection, share: list[int]) -> None:
        self.process = process
        self.reports = reports
        self.share = share
        self.applied: dict[int, int] = {}
        self.failure: str | None = None

    def drain(self) -> None:
        try:
            while self.reports.poll():
                report = self.reports.recv()
                if isinstance(report, str):
                    self.failure = report
                else:
                    self.applied = report
        except (EOFError, OSError):
            pass  # the child is gone; `check` says how


class ProcessReading:
    """Readers in child processes, one per share of the partitions."""

    def __init__(
        self,
        parts: ReplayParts,
        topic: str,
        generations: Mapping[str, int],
        partition_shares: Sequence[list[int]],
        *,
        max_records: int,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._stopping = False
        self._children: list[_Child] = []
        for share in partition_shares:
            receiving, sending = context.Pipe(duplex=False)
            process = context.Process(
                target=read_share,
                args=(
                    _Share(parts, topic, dict(generations), share, max_records),
                    sending,
                    self._stop,
                ),
                name=f"alertfold-replay-{'-'.join(map(str, share))}",
                daemon=True,
            )
            process.start()
            sending.close()
            self._children.append(_Child(process, receiving, share))
            log.info("replay: process %d reads partitions %s", process.pid, share)

    def applied_offsets(self) -> dict[int, int]:
        applied: dict[int, int] = {}
        for child in self._children:
            child.drain()
            applied.update(child.applied)
        return applied

    def check(self) -> None:
        for child in self._children:
            child.drain()
            if not child.process.is_alive() and not self._stopping:
                reason = child.failure or f"exit code {child.process.exitcode}"
                raise RuntimeError(
                    f"replay: the process reading partitions {child.share} stopped: {reason}"
                )

    async def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        for child in self._children:
            await asyncio.to_thread(child.process.join, STOP_TIMEOUT)
            if child.process.is_alive():
                log.warning(
                    "replay: process %d did not stop within %.0f s; terminating it",
                    child.process.pid,
                    STOP_TIMEOUT,
                )
                child.process.terminate()
                await asyncio.to_thread(child.process.join)
            child.reports.close()


@dataclass(frozen=True)
class _Share:
    """What one child reads: its partitions of `topic`, into `generations`."""

    parts: ReplayParts
    topic: str
    generations: dict[str, int]
    partitions: list[int]
    max_records: int


def read_share(share: _Share, reports: Connection, stop: Event) -> None:
    """A child's life: read its share into the sinks until asked to stop; report a failure."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    share.parts.enter_process()
    try:
        asyncio.run(_read(share, reports, stop))
    except BaseException as exc:
        log.exception("replay: reading partitions %s failed", share.partitions)
        reports.send(one_line(exc) or type(exc).__name__)
        raise SystemExit(1) from None


async def _read(share: _Share, reports: Connection, stop: Event) -> None:
    sinks = ReplaySinks(share.parts.sinks(share.generations))
    reader = IssueEventReader(
        share.parts.kafka(),
        share.topic,
        sinks,
        partitions=share.partitions,
        max_records=share.max_records,
    )
    task = asyncio.create_task(reader.run())
    parent = multiprocessing.parent_process()
    try:
        while not task.done() and not stop.is_set():
            if parent is not None and not parent.is_alive():
                log.warning("replay: the replay's process is gone; stopping")
                break
            reports.send(reader.applied_offsets)
            await asyncio.wait({task}, timeout=REPORT_INTERVAL)
    finally:
        if not task.done():
            await reader.stop()
        sinks.close()
    task.result()
    reports.send(reader.applied_offsets)
