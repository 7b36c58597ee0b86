"""How a replay reads the log: one reader in this process, feeding every read model's sink.

The log is read once: the reader decodes each batch and hands it to every sink at once
(`ReplaySinks`). `Replay` only watches a reading (how far it got, whether it failed) and
stops it; `projections.replay_processes` reads the same way in several processes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from infra.kafka_clients import KafkaConnection
from projections.issue_event_reader import Chore, IssueEventReader, IssueEventSink
from projections.issue_event_reading import Record


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


class ReplayReading(Protocol):
    """A replay's reading of the log, as the replay watches it."""

    def applied_offsets(self) -> dict[int, int]:
        """Partition → next offset to read; everything before it is written by every sink."""
        ...

    def check(self) -> None:
        """Raise `RuntimeError` if reading stopped before it was asked to."""
        ...

    async def stop(self) -> None:
        """Stop after the batch in progress and release the sinks."""
        ...


class InProcessReading:
    """One reader in this process, over every partition."""

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        sinks: Sequence[IssueEventSink],
        *,
        max_records: int,
    ) -> None:
        self._sinks = ReplaySinks(sinks)
        self._reader = IssueEventReader(kafka, topic, self._sinks, max_records=max_records)
        self._task = asyncio.create_task(self._reader.run())

    def applied_offsets(self) -> dict[int, int]:
        return self._reader.applied_offsets

    def check(self) -> None:
        if self._task.done():
            failure = None if self._task.cancelled() else self._task.exception()
            raise RuntimeError(f"replay: the reader stopped: {failure!r}") from failure

    async def stop(self) -> None:
        try:
            if not self._task.done():
                await self._reader.stop()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
        finally:
            self._sinks.close()
