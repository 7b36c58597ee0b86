"""Staged writes: visible to the batch at once, in the table only on commit."""

from __future__ import annotations

import pytest

from agents.staged_table import StagedTable


def test_staged_writes_are_read_back_but_not_in_the_table_until_commit() -> None:
    table = {"a": b"1", "b": b"2"}
    staged = StagedTable(table)
    staged["a"] = b"10"
    staged["c"] = b"3"
    del staged["b"]
    assert dict(staged.items()) == {"a": b"10", "c": b"3"}
    assert "b" not in staged and staged.get("b") is None
    assert table == {"a": b"1", "b": b"2"}
    staged.commit()
    assert table == {"a": b"10", "c": b"3"}


def test_discard_forgets_the_batch() -> None:
    table = {"a": b"1"}
    staged = StagedTable(table)
    staged["a"] = b"2"
    staged.discard()
    assert staged["a"] == b"1" and table == {"a": b"1"}


def test_deleting_what_is_not_there_is_a_key_error() -> None:
    staged = StagedTable({})
    with pytest.raises(KeyError):
        del staged["missing"]
