"""Which issues of a partition a tick must look at: an index of their next deadlines.

The deadlines themselves are part of each issue's state (the table, recovered from its
changelog); this index is only derived from it, built from the table the first time a tick
reaches a partition and dropped when partitions move, so it can never hold anything the
state does not. Without it every tick would have to read every issue of the partition.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime

from agents.issue_table import Slot, is_slot_key, partition_of_key
from domain.deadlines import next_due

SlotItems = Callable[[], Iterable[tuple[str, bytes | None]]]


class DeadlineIndex:
    def __init__(self, slot_items: SlotItems, partitions: int) -> None:
        self._slot_items = slot_items
        self._partitions = partitions
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._due: dict[str, datetime] = {}

    def note(self, key: str, due: datetime | None) -> None:
        """The issue under `key` next needs a tick at `due` (None: never by itself)."""
        partition = self._partition_of(key)
        if partition not in self._heaps:
            return  # built from the table when the first tick comes
        self._set(partition, key, due)

    def take_due(self, partition: int, now: datetime) -> list[str]:
        """Keys with a deadline at or before `now`, earliest first (ties by key).

        They leave the index; the caller notes each one's next deadline after folding.
        """
        heap = self._heap(partition)
        keys: list[str] = []
        while heap and heap[0][0] <= now:
            due, key = heapq.heappop(heap)
            if self._due.get(key) == due:
                del self._due[key]
                keys.append(key)
        return keys

    def due(self, partition: int, now: datetime) -> bool:
        """Whether a tick at `now` would find a deadline of the partition to fire, or the
        partition's index is not built yet (its first tick builds it)."""
        heap = self._heaps.get(partition)
        if heap is None:
            return True
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # an issue's earlier deadline, since moved by `note`
        return bool(heap) and heap[0][0] <= now

    def forget(self) -> None:
        """Partitions moved: rebuild from the table on the next tick."""
        self._heaps.clear()
        self._due.clear()

    def _heap(self, partition: int) -> list[tuple[datetime, str]]:
        if partition not in self._heaps:
            self._heaps[partition] = []
            for key, raw in self._slot_items():
                if raw and is_slot_key(key) and self._partition_of(key) == partition:
                    slot = Slot.model_validate_json(raw)
                    self._set(partition, key, next_due(slot.issue))
        return self._heaps[partition]

    def _set(self, partition: int, key: str, due: datetime | None) -> None:
        if due is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) != due:
            self._due[key] = due
            heapq.heappush(self._heaps[partition], (due, key))

    def _partition_of(self, key: str) -> int:
        return partition_of_key(key, self._partitions)
