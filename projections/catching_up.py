"""Waiting for a reader to catch up with its topic: for replays, tests and health checks.

A reader whose sink keeps its positions knows how far it got; this compares that with the
topic's end offsets at the moment of asking.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, TopicPartition


class CatchingUp:
    """Mixed into `IssueEventReader`, whose run loop sets these attributes."""

    name: str
    topic: str
    _ready: asyncio.Event
    _consumer: AIOKafkaConsumer | None
    _positions: dict[int, int]
    _failure: BaseException | None
    _stopping: asyncio.Event

    async def wait_until_caught_up(self, timeout: float) -> None:
        """Wait until everything on the topic when called is applied to the store.

        Raises `TimeoutError` naming the lagging partitions if that takes longer, and
        `RuntimeError` if the reader stops or fails meanwhile.
        """
        deadline = time.monotonic() + timeout
        while not self._ready.is_set():
            self._check_alive()
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"reader {self.name!r} not consuming {self.topic!r} after {timeout:.1f}s"
                )
            await asyncio.sleep(0.02)
        consumer = self._consumer
        if consumer is None:
            raise RuntimeError(f"reader {self.name!r} stopped")
        partitions = [TopicPartition(self.topic, p) for p in sorted(self._positions)]
        async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
            ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        targets = {tp.partition: offset for tp, offset in ends.items()}
        while True:
            lagging = {
                partition: (self._positions.get(partition, 0), end)
                for partition, end in targets.items()
                if self._positions.get(partition, 0) < end
            }
            if not lagging:
                return
            self._check_alive()
            if time.monotonic() >= deadline:
                detail = ", ".join(f"{p}: at {at} of {end}" for p, (at, end) in lagging.items())
                raise TimeoutError(
                    f"reader {self.name!r} behind on {self.topic!r} after {timeout:.1f}s ({detail})"
                )
            await asyncio.sleep(0.02)

    def _check_alive(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"reader {self.name!r} failed: {self._failure!r}") from self._failure
        if self._stopping.is_set():
            raise RuntimeError(f"reader {self.name!r} stopped")
