"""`alertfold auditor`: feeds the audit store from `issue-events`, a sink of the shared reader.

The store keeps the positions, committed with the events (`projections.audit_store`), so a
restart resumes after the last committed batch and several auditors may run at once. The
live auditor's store follows a replay's switch to a new generation: a periodic check, or a
write that failed because the old generation is gone, moves it, and the reader goes on
from the new generation's stored positions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Unpack

from infra.kafka_clients import KafkaConnection
from projections.audit_store import AuditStore
from projections.issue_event_reader import (
    Chore,
    IssueEventReader,
    PositionsMoved,
    ReadingOptions,
)
from projections.issue_event_reading import Record


class AuditSink:
    """The audit store as an `IssueEventSink`."""

    def __init__(
        self, store: AuditStore, projection: str = "audit", generation_check_interval: float = 1.0
    ) -> None:
        self.store = store
        self.projection = projection
        self.generation_check_interval = generation_check_interval

    @property
    def name(self) -> str:
        return self.projection

    def positions(self, topic: str, partitions: Collection[int]) -> dict[int, int]:
        return self.store.positions(self.projection, topic, partitions)

    def apply(self, topic: str, records: Sequence[Record], next_offsets: Mapping[int, int]) -> None:
        try:
            self.store.apply_batch(self.projection, topic, records, next_offsets=next_offsets)
        except Exception as exc:
            if self.store.follow_live():
                raise self._moved() from exc
            raise

    def chores(self) -> list[Chore]:
        return [Chore("generation check", self.generation_check_interval, self._follow_live)]

    def _follow_live(self) -> None:
        if self.store.follow_live():
            raise self._moved()

    def _moved(self) -> PositionsMoved:
        return PositionsMoved(f"the audit store moved to generation {self.store.generation}")


class Auditor(IssueEventReader[AuditSink]):
    """The reader of `issue-events` into an `AuditSink`."""

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        store: AuditStore,
        projection: str = "audit",
        **options: Unpack[ReadingOptions],
    ) -> None:
        super().__init__(kafka, topic, AuditSink(store, projection), **options)

    @property
    def store(self) -> AuditStore:
        return self.sink.store
