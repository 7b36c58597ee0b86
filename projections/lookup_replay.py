"""The lookup view as a `ReplayTarget`: what `alertfold replay` needs to rebuild it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from projections.lookup_store import LookupStore
from projections.retention import RetentionPolicy, RetentionResult
from projections.runner import LookupSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LookupReplayTarget:
    store: LookupStore
    topic: str
    retention: RetentionPolicy
    projection: str = "lookup"

    @property
    def name(self) -> str:
        return "lookup"

    def begin_generation(self) -> int:
        generation, stale = self.store.begin_generation()
        if stale:
            log.info("replay: dropped stale lookup generations %s", stale)
        return generation

    def sink(self, generation: int) -> LookupSink:
        return LookupSink(self.store, self.projection, generation=generation)

    def apply_retention(self, generation: int, now: datetime) -> RetentionResult:
        return self.store.apply_retention(now, self.retention, generation=generation)

    def switch_to(self, generation: int) -> int:
        return self.store.switch_to(generation)

    def drop_generation(self, generation: int) -> None:
        self.store.drop_generation(generation)

    def counts(self, generation: int) -> dict[str, int]:
        return {"issues": self.store.count_issues(generation)}
