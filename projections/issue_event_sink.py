"""What the reader of `issue-events` feeds and tells: sinks, their chores, partition owners.

A *sink* keeps its Kafka positions in its own database, committed in the same transaction
as what a batch changed there (`IssueEventSink`). A reader sharing the topic's partitions
with other replicas also tells its owner which partitions it holds (`PartitionOwner`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.issue_event_reading import Record


class PositionsMoved(Exception):
    """The sink's stored positions are elsewhere now (a replay switched generations).

    Raised by `apply` (with nothing written) or by a chore; the reader seeks every partition
    to the sink's positions again and carries on from there.
    """


class SinkClosed(Exception):
    """The sink can take no more records (what it writes to was dropped); `run()` fails."""


@dataclass(frozen=True)
class Chore:
    """Work a sink does between batches every `interval` seconds, in a worker thread.

    Runs first after one interval, or at once with `at_start`. It may raise `PositionsMoved`
    or `SinkClosed`; any other error is logged and the chore runs again at its next turn.
    """

    name: str
    interval: float
    work: Callable[[], None]
    at_start: bool = False


class IssueEventSink(Protocol):
    """What the reader feeds. `positions`, `apply` and chores block: they run in a thread."""

    @property
    def name(self) -> str:
        """Names the sink in logs and in the Kafka client id."""
        ...

    def positions(self, topic: str, partitions: Collection[int]) -> dict[int, int]:
        """Partition → next offset to read, for the partitions with a stored position."""
        ...

    def apply(self, topic: str, records: Sequence[Record], next_offsets: Mapping[int, int]) -> None:
        """Commit the records and the positions after them in one transaction.

        `next_offsets` has the consumer's position for every partition that moved since the
        last commit, including partitions whose records were all stepped over; `records`
        may be empty. Positions never move backwards.
        """
        ...

    def chores(self) -> Sequence[Chore]:
        """The sink's periodic work; empty when it has none."""
        ...


class PartitionOwner(Protocol):
    """Told, on the reader's event loop, when a reader in a consumer group gains or loses
    partitions. Partitions are revoked only after the batch in progress was committed or
    dropped, and assigned once positioned at the sink's stored positions; a failure in
    either makes the reader leave the group and join again after a pause."""

    async def partitions_assigned(self, partitions: set[int]) -> None: ...

    async def partitions_revoked(self, partitions: set[int]) -> None: ...
