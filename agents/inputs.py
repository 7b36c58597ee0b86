"""An input record and where the fold stands in each input topic of its partition.

The same types serve the live worker, its crash recovery and `alertfold verify`, whatever
read the records (a stream, a read-back from the broker, a list in memory).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Protocol

from domain.records import InputPosition


class _Consumed(Protocol):
    """A record as aiokafka's consumer returns it (its timestamp in milliseconds)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


@dataclass(frozen=True)
class InputRecord:
    """One record of an input topic, however it was read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float  # seconds since the epoch, as Kafka stamped the record

    @classmethod
    def consumed(cls, record: _Consumed) -> InputRecord:
        return cls(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            record.timestamp / 1000,
        )

    @property
    def position(self) -> InputPosition:
        return InputPosition(topic=self.topic, partition=self.partition, offset=self.offset)

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class InputPositions:
    """The next offset of each input partition the fold has not applied yet.

    Kept in any mapping of "topic:partition" to the offset as ASCII bytes: a plain dict in
    `alertfold verify`, a changelog-backed table in the worker.
    """

    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self._table = table

    def position(self, topic: str, partition: int) -> int | None:
        """The next offset of `topic`'s partition to apply (None: nothing applied yet)."""
        stored = self._table.get(f"{topic}:{partition}")
        return int(stored) if stored else None

    def move(self, topic: str, partition: int, next_offset: int) -> None:
        self._table[f"{topic}:{partition}"] = str(next_offset).encode()

    def advance(self, record: InputRecord) -> None:
        """Record that this record's effects are applied."""
        self.move(record.topic, record.partition, record.offset + 1)

    def folded_before(self, record: InputRecord, topics: tuple[str, ...]) -> dict[str, int]:
        """Where the fold stands in each input topic of the record's partition (next offset),
        copied onto the record's events so a re-fold can repeat the interleaving."""
        return {
            topic: record.offset
            if topic == record.topic
            else self.position(topic, record.partition) or 0
            for topic in topics
        }
