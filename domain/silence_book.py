"""The silences one partition's fold knows: every silence that has not ended yet.

Silences are inputs like alerts: each is written to every partition of `interactions`, so
every channel's actor sees it at a definite place among its own alerts and ticks and decides
the same way when folding again. A partition keeps the silences not yet over, and which of
them have started; a silence set for later starts when a tick passes its `starts_at`, which
is when the issues it covers are silenced. Ended silences are dropped on the next tick.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.silences import Silence


class SilenceBook(BaseModel):
    model_config = ConfigDict(frozen=True)

    silences: tuple[Silence, ...] = ()
    # Started silences, with the `ticks` offset whose tick started them (-1: started when
    # set), so a tick folded again after a crash knows it must apply them again.
    started: dict[str, int] = {}

    def with_silence(self, silence: Silence, *, at: datetime) -> SilenceBook:
        """Set or replace (expire early: the same id with an earlier end) a silence."""
        others = tuple(s for s in self.silences if s.id != silence.id)
        started = {k: v for k, v in self.started.items() if k != silence.id}
        if silence.starts_at <= at:
            started[silence.id] = -1
        return SilenceBook(silences=(*others, silence), started=started).ended_dropped(at)

    def ticked(self, at: datetime, offset: int) -> tuple[SilenceBook, bool]:
        """The book once time reached `at` (tick at `offset`), and whether silences started
        with this tick (the partition's issues must then be reconsidered)."""
        started = dict(self.started)
        for silence in self.silences:
            if silence.id not in started and silence.starts_at <= at:
                started[silence.id] = offset
        starting = offset in started.values()
        return self.model_copy(update={"started": started}).ended_dropped(at), starting

    def ended_dropped(self, at: datetime) -> SilenceBook:
        live = tuple(s for s in self.silences if s.ends_at > at)
        ids = {s.id for s in live}
        started = {k: v for k, v in self.started.items() if k in ids}
        return self.model_copy(update={"silences": live, "started": started})
