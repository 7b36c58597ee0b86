"""Feeds the lookup store from `issue-events`: the lookup view as a sink of the shared reader.

The store keeps the positions, written in the same transaction as the rows (see
`projections.lookup_store`); several projector processes may run at once (each a full
copy), their writes idempotent because rows only ever move to newer issue versions.

A projector writes one generation of the view. By default it owns the live generation and
follows a replay's switch: its next write is refused (`GenerationRetired`, nothing written),
or, while idle, its generation check notices the switch; either way the reader seeks every
partition to the new generation's stored positions and carries on from there, neither
skipping nor re-applying what the replay already wrote. A replay runs a projector pinned to
the generation it builds. The live projector also applies retention
(`projections.retention`) every `retention_interval` seconds, at the injected clock's time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Unpack

from infra.kafka_clients import KafkaConnection
from projections.generations import GenerationRetired
from projections.issue_event_reader import (
    Chore,
    IssueEventReader,
    PositionsMoved,
    ReadingOptions,
    SinkClosed,
)
from projections.issue_event_reading import Record
from projections.lookup_store import LookupStore
from projections.retention import RetentionPolicy

log = logging.getLogger(__name__)


class LookupSink:
    """The lookup store as an `IssueEventSink`, writing one generation of the view."""

    def __init__(
        self,
        store: LookupStore,
        projection: str = "lookup",
        *,
        generation: int | None = None,
        retention: RetentionPolicy | None = None,
        retention_interval: float = 3600.0,
        generation_check_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.projection = projection
        # None: own the live generation and follow switches; a number: build that one only.
        self.pinned_generation = generation
        self.generation = generation  # written to; the live one is known once positioned
        self.retention = retention
        self.retention_interval = retention_interval
        self.generation_check_interval = generation_check_interval
        self.clock = clock

    @property
    def name(self) -> str:
        return self.projection

    def positions(self, topic: str, partitions: Collection[int]) -> dict[int, int]:
        """The positions stored in the generation to write: the live one, unless pinned."""
        if self.pinned_generation is None:
            live = self.store.live_generation()
            if self.generation is not None and live != self.generation:
                log.info(
                    "%s: generation %s was replaced; now writing generation %s",
                    self.projection,
                    self.generation,
                    live,
                )
            self.generation = live
        return self.store.positions(self.projection, topic, generation=self.generation)

    def apply(self, topic: str, records: Sequence[Record], next_offsets: Mapping[int, int]) -> None:
        try:
            self.store.apply_batch(
                self.projection,
                topic,
                records,
                next_offsets=next_offsets,
                generation=self.generation,
            )
        except GenerationRetired:
            raise self._retired() from None

    def chores(self) -> list[Chore]:
        chores = []
        if self.pinned_generation is None:
            # Idle, nothing is written that would find out about a switch.
            chores.append(
                Chore("generation check", self.generation_check_interval, self._check_generation)
            )
        if self.retention is not None:
            chores.append(
                Chore("retention", self.retention_interval, self._apply_retention, at_start=True)
            )
        return chores

    def _check_generation(self) -> None:
        if self.store.live_generation() != self.generation:
            raise self._retired()

    def _apply_retention(self) -> None:
        assert self.retention is not None
        try:
            result = self.store.apply_retention(
                self.clock(), self.retention, generation=self.generation
            )
        except GenerationRetired:
            raise self._retired() from None
        if result.issues_deleted or result.alerts_stripped:
            log.info(
                "%s: retention removed %d closed issues, stripped %d alerts",
                self.projection,
                result.issues_deleted,
                result.alerts_stripped,
            )

    def _retired(self) -> Exception:
        if self.pinned_generation is not None:
            return SinkClosed(
                f"projection {self.projection}: generation {self.pinned_generation} "
                "was replaced or abandoned while being built"
            )
        return PositionsMoved(f"generation {self.generation} is no longer live")


class LookupProjector(IssueEventReader[LookupSink]):
    """The reader of `issue-events` into a `LookupSink`, built from the store and options."""

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        store: LookupStore,
        projection: str = "lookup",
        *,
        generation: int | None = None,
        retention: RetentionPolicy | None = None,
        retention_interval: float = 3600.0,
        generation_check_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        **options: Unpack[ReadingOptions],
    ) -> None:
        sink = LookupSink(
            store,
            projection,
            generation=generation,
            retention=retention,
            retention_interval=retention_interval,
            generation_check_interval=generation_check_interval,
            clock=clock,
        )
        super().__init__(kafka, topic, sink, **options)

    @property
    def generation(self) -> int | None:
        """The generation of the view this projector writes (None before it starts)."""
        return self.sink.generation
