"""When a sink's chores run: between batches, each once its interval has passed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from infra.logs import one_line
from projections.issue_event_sink import Chore, PositionsMoved, SinkClosed

log = logging.getLogger("projections.issue_event_reader")


class ChoreSchedule:
    def __init__(
        self, chores: Iterable[Chore], monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._monotonic = monotonic
        now = monotonic()
        # Each chore with when it is next due.
        self._due = [(c, now if c.at_start else now + c.interval) for c in chores]

    async def run_due(self, reader: str) -> None:
        """Run the chores that are due, in a worker thread; `PositionsMoved` and `SinkClosed`
        go to the reader, any other failure is logged and the chore waits for its next turn."""
        for index, (chore, due) in enumerate(self._due):
            if self._monotonic() < due:
                continue
            self._due[index] = (chore, self._monotonic() + chore.interval)
            try:
                await asyncio.to_thread(chore.work)
            except (PositionsMoved, SinkClosed):
                raise
            except Exception as exc:
                log.warning(
                    "%s: %s failed (%s); again in %.1fs",
                    reader,
                    chore.name,
                    one_line(exc),
                    chore.interval,
                )
