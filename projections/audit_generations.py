"""Generations of the audit store, so `alertfold replay` rebuilds it like the lookup view.

The registry row (`read_model_generations`, read model "audit") lives in the lookup view's
database, beside the lookup view's own row, so one `DATABASE_URL` holds every read model's
generation. Each audit generation has its own tables (`projections.audit_store`): a
replay records every issue event again into a new generation while the live one keeps
answering, then switches the row; the auditor and the API follow the switch.

Retention does not apply to the audit store: it is the issue's history for audits, and
keeping all of it is its purpose (the lookup view is what retention trims).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from infra.database import create_database_engine
from projections.audit_runner import AuditSink
from projections.audit_store import AuditStore, drop_audit_tables
from projections.generations import GenerationRegistry
from projections.retention import RetentionResult

log = logging.getLogger(__name__)

READ_MODEL = "audit"


class AuditGenerations:
    def __init__(self, registry_engine: sa.Engine, database_url: str) -> None:
        self._engine = registry_engine
        self._url = database_url
        self._registry = GenerationRegistry(READ_MODEL)
        with registry_engine.begin() as conn:
            self._registry.create(conn)

    def live(self) -> int:
        with self._engine.connect() as conn:
            return self._registry.state(conn).live

    def live_store(self) -> AuditStore:
        """The live generation's store, following later switches."""
        return AuditStore.open(self._url, self.live(), follow=self.live)

    def begin_generation(self) -> int:
        with self._engine.begin() as conn:
            generation, unfinished = self._registry.begin_building(conn)
        if unfinished is not None:
            log.info("replay: dropping unfinished audit generation %d", unfinished)
            self._drop_tables(unfinished)
        self._drop_tables(generation)  # a leftover of a replay killed outright
        return generation

    def switch_to(self, generation: int) -> int:
        with self._engine.begin() as conn:
            return self._registry.switch(conn, generation)

    def drop_generation(self, generation: int) -> None:
        with self._engine.begin() as conn:
            if generation == self._registry.state(conn).live:
                raise ValueError(f"audit generation {generation} is live")
            self._registry.abandon(conn, generation)
        self._drop_tables(generation)

    def _drop_tables(self, generation: int) -> None:
        engine = create_database_engine(self._url)
        try:
            drop_audit_tables(engine, generation)
        finally:
            engine.dispose()


@dataclass(frozen=True)
class AuditReplayTarget:
    """The audit store as a `ReplayTarget`."""

    generations: AuditGenerations
    database_url: str
    topic: str

    @property
    def name(self) -> str:
        return READ_MODEL

    def begin_generation(self) -> int:
        return self.generations.begin_generation()

    def sink(self, generation: int) -> AuditSink:
        return AuditSink(AuditStore.open(self.database_url, generation))

    def apply_retention(self, generation: int, now: datetime) -> RetentionResult:
        return RetentionResult()

    def switch_to(self, generation: int) -> int:
        return self.generations.switch_to(generation)

    def drop_generation(self, generation: int) -> None:
        self.generations.drop_generation(generation)

    def counts(self, generation: int) -> dict[str, int]:
        store = AuditStore.open(self.database_url, generation)
        try:
            return {"audited events": store.count_events()}
        finally:
            store.close()
