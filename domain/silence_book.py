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

    def with_silence(self, silence: Silence, *, at: datetime) -> SilenceBook:
        """Set or replace (expire early: the same id with an earlier end) a silence; the
        ones over by `at` are dropped (only here, so the book changes only with a silence
        record, at a definite place in the log)."""
        others = (s for s in self.silences if s.id != silence.id)
        return SilenceBook(silences=tuple(s for s in (*others, silence) if s.ends_at > at))
