"""The lookup view as a sink of the issue-event reader: plain event lists, a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from domain.records import IssueEventRecord
from harness.stories import BASE_TIME, IssueStory
from infra.database import create_database_engine
from projections.issue_event_reader import PositionsMoved, SinkClosed
from projections.issue_event_reading import Record
from projections.lookup import fold_lookup, issue_view
from projections.lookup_store import LookupStore
from projections.retention import RetentionPolicy, apply_retention
from projections.runner import LookupSink
from tests.unit.sink_batches import TOPIC, batch


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LookupStore]:
    engine = create_database_engine(f"sqlite:///{tmp_path}/lookup.db")
    lookup = LookupStore(engine)
    lookup.create_schema()
    yield lookup
    engine.dispose()


def stories(count: int) -> list[IssueEventRecord]:
    told = [IssueStory(f"i-{n}", f"C{n % 3}") for n in range(count)]
    for story in told:
        story.opened()
    for story in told[::2]:
        story.grouped()
    for story in told[::3]:
        story.resolved()
    return [event for story in told for event in story.events]


def positioned(sink: LookupSink) -> LookupSink:
    """The sink as the reader leaves it once partitions are assigned."""
    sink.positions(TOPIC, {0, 1})
    return sink


def views(store: LookupStore) -> dict[str, dict[str, object]]:
    return {issue["id"]: issue for issue in store.list_issues(limit=1000)}


def folded(events: list[IssueEventRecord]) -> dict[str, dict[str, object]]:
    return {issue_id: issue_view(row) for issue_id, row in fold_lookup(events).items()}


def test_a_batch_becomes_the_folded_rows_and_the_positions_after_it(store: LookupStore) -> None:
    events = stories(9)
    records, next_offsets = batch(events)
    sink = positioned(LookupSink(store))

    sink.apply(TOPIC, records, next_offsets)

    assert views(store) == folded(events)
    assert sink.positions(TOPIC, {0, 1}) == next_offsets
    assert sum(next_offsets.values()) == len(events)


def test_positions_cover_what_the_reader_stepped_over(store: LookupStore) -> None:
    opened = IssueStory("i-1").opened()
    sink = positioned(LookupSink(store))

    # Partition 0 had the event then a value it could not decode; partition 1 only markers.
    sink.apply(TOPIC, [Record.of(0, 0, opened)], {0: 2, 1: 3})

    assert sink.positions(TOPIC, {0, 1}) == {0: 2, 1: 3}
    assert list(views(store)) == [opened.issue_id]


def test_a_batch_applied_again_changes_nothing(store: LookupStore) -> None:
    events = stories(6)
    records, next_offsets = batch(events)
    sink = positioned(LookupSink(store))
    sink.apply(TOPIC, records, next_offsets)
    before = store.rows()

    sink.apply(TOPIC, records, {0: 0, 1: 0})

    assert store.rows() == before
    assert sink.positions(TOPIC, {0, 1}) == next_offsets


def test_a_switch_refuses_the_next_batch_and_moves_to_the_new_generation(
    store: LookupStore,
) -> None:
    first, second = stories(4), stories(8)[4:]
    sink = positioned(LookupSink(store))
    records, after_first = batch(first)
    sink.apply(TOPIC, records, after_first)
    built, _stale = store.begin_generation()  # a replay builds and switches
    store.switch_to(built)

    records, after_second = batch(second, after=after_first)
    with pytest.raises(PositionsMoved):
        sink.apply(TOPIC, records, after_second)

    assert store.positions("lookup", TOPIC, generation=1) == after_first
    assert sink.positions(TOPIC, {0, 1}) == {}  # the replay wrote none in this test
    assert sink.generation == built
    sink.apply(TOPIC, records, after_second)
    assert views(store) == folded(second)


def test_the_generation_check_notices_a_switch_while_nothing_is_written(
    store: LookupStore,
) -> None:
    sink = positioned(LookupSink(store))
    [check] = sink.chores()
    check.work()

    built, _stale = store.begin_generation()
    store.switch_to(built)

    with pytest.raises(PositionsMoved):
        check.work()


def test_a_pinned_generation_dropped_while_being_built_closes_the_sink(
    store: LookupStore,
) -> None:
    built, _stale = store.begin_generation()
    sink = positioned(LookupSink(store, generation=built))
    assert sink.chores() == []  # no switch to follow, no retention to apply
    store.drop_generation(built)  # another replay took over

    records, next_offsets = batch(stories(2))
    with pytest.raises(SinkClosed, match=f"generation {built}"):
        sink.apply(TOPIC, records, next_offsets)


def test_retention_is_a_chore_at_start_on_the_sinks_clock(store: LookupStore) -> None:
    policy = RetentionPolicy()
    later = BASE_TIME + timedelta(days=365)
    events = stories(9)
    sink = positioned(LookupSink(store, retention=policy, clock=lambda: later))
    sink.apply(TOPIC, *batch(events))
    [_check, retention] = sink.chores()
    assert retention.at_start

    retention.work()

    assert store.rows() == apply_retention(fold_lookup(events), later, policy)
