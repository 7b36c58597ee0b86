"""The clock: the only place the worker reads the time, turned into `ticks` records.

Every interval it sends one tick to each partition of `ticks`, so every channel's actor sees
time pass in its own input order. It runs on the leader worker only: ticks from several
workers would be harmless (a deadline fires once, whichever tick sees it first) but wasteful.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import faust

from agents.topics import Topics
from wire.ticks import encode_tick

log = logging.getLogger("alertfold.clock")


class Clock:
    def __init__(self, topics: Topics, partitions: int, now: Callable[[], datetime]) -> None:
        self._topics = topics
        self._partitions = partitions
        self._now = now

    async def tick(self) -> datetime:
        """Send the current time to every partition; returns the time sent."""
        at = self._now()
        value = encode_tick(at)
        for partition in range(self._partitions):
            await self._topics.ticks_topic.send(key=None, value=value, partition=partition)
        return at


def register_clock(app: faust.App, clock: Clock, interval: float) -> None:
    """Tick every `interval` seconds on the leader; an interval of 0 leaves the clock off."""
    if interval <= 0:
        log.info("clock off: deadlines fire only on ticks produced elsewhere")
        return

    @app.timer(interval, on_leader=True, name="emit_ticks")  # type: ignore[untyped-decorator]
    async def emit_ticks() -> None:
        await clock.tick()
