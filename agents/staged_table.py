"""Table writes held back until the transaction that makes them durable commits.

The fold handles its input in batches: it decides every record of a batch against the state
the earlier ones left, and the batch's outputs, the slots it changed and its offsets are
committed in one Kafka transaction. Reads during the batch see the staged writes, so the
batch decides exactly as one-by-one folding would; the in-memory table takes them only once
the transaction committed, and drops them if it did not.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

_DELETED = None


class StagedTable(MutableMapping[str, bytes]):
    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self._table = table
        self._staged: dict[str, bytes | None] = {}

    def __getitem__(self, key: str) -> bytes:
        if key in self._staged:
            value = self._staged[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self._table[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self._staged[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._staged[key] = _DELETED

    def __contains__(self, key: object) -> bool:
        if key in self._staged:
            return self._staged[key] is not _DELETED
        return key in self._table

    def __iter__(self) -> Iterator[str]:
        for key in self._table:
            if key not in self._staged:
                yield key
        for key, value in self._staged.items():
            if value is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    @property
    def committed(self) -> MutableMapping[str, bytes]:
        """The table under the staged writes: what is durable."""
        return self._table

    def staged(self) -> dict[str, bytes | None]:
        """The writes of this batch, in the order made: a value, or None for a removal."""
        return dict(self._staged)

    def commit(self) -> None:
        """Write what was staged to the table, in the order it was staged."""
        for key, value in self._staged.items():
            if value is _DELETED:
                if key in self._table:
                    del self._table[key]
            else:
                self._table[key] = value
        self._staged.clear()

    def discard(self) -> None:
        self._staged.clear()
