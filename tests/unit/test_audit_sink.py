"""The audit store as a sink of the issue-event reader: plain event lists, SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.records import IssueEventRecord
from harness.stories import IssueStory
from infra.database import create_database_engine
from projections.audit_generations import AuditGenerations
from projections.audit_runner import AuditSink
from projections.issue_event_reader import PositionsMoved
from tests.unit.sink_batches import TOPIC, batch


@pytest.fixture
def generations(tmp_path: Path) -> Iterator[AuditGenerations]:
    registry = create_database_engine(f"sqlite:///{tmp_path}/alertfold.db")
    yield AuditGenerations(registry, f"sqlite:///{tmp_path}/audit.db")
    registry.dispose()


@pytest.fixture
def sink(generations: AuditGenerations) -> Iterator[AuditSink]:
    live = AuditSink(generations.live_store())
    yield live
    live.store.close()


def told(count: int) -> list[IssueStory]:
    stories = [IssueStory(f"i-{n}", f"C{n % 3}") for n in range(count)]
    for story in stories:
        story.opened()
        story.grouped()
    for story in stories[::2]:
        story.resolved()
    return stories


def events_of(stories: list[IssueStory]) -> list[IssueEventRecord]:
    return [event for story in stories for event in story.events]


def test_a_batch_is_recorded_as_each_issues_history_with_the_positions(sink: AuditSink) -> None:
    stories = told(5)
    records, next_offsets = batch(events_of(stories))

    sink.apply(TOPIC, records, next_offsets)

    for story in stories:
        history = sink.store.history(story.issue_id)
        assert [entry.event_id for entry in history] == [e.event_id for e in story.events]
    assert sink.positions(TOPIC, {0, 1}) == next_offsets


def test_duplicates_from_a_refold_are_recorded_once(sink: AuditSink) -> None:
    events = events_of(told(4))
    first, after_first = batch(events)
    sink.apply(TOPIC, first, after_first)

    again, after_again = batch(events[:3], after=after_first)
    sink.apply(TOPIC, again, after_again)

    assert sink.store.count_events() == len(events)
    assert sink.positions(TOPIC, {0, 1}) == after_again


def test_the_generation_check_follows_a_replays_switch(
    sink: AuditSink, generations: AuditGenerations
) -> None:
    sink.apply(TOPIC, *batch(events_of(told(2))))
    [check] = sink.chores()
    check.work()

    generations.switch_to(generations.begin_generation())

    with pytest.raises(PositionsMoved, match="generation 2"):
        check.work()
    assert sink.store.generation == 2
    assert sink.positions(TOPIC, {0, 1}) == {}


def test_a_write_failing_after_a_switch_moves_to_the_new_generation(
    sink: AuditSink, generations: AuditGenerations, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(*_args: object, **_kwargs: object) -> int:
        raise OSError("the retired generation's database is gone")

    monkeypatch.setattr(sink.store, "apply_batch", gone)
    records, next_offsets = batch(events_of(told(2)))
    with pytest.raises(OSError, match="gone"):
        sink.apply(TOPIC, records, next_offsets)  # no switch: the reader retries

    generations.switch_to(generations.begin_generation())

    with pytest.raises(PositionsMoved):
        sink.apply(TOPIC, records, next_offsets)
    assert sink.store.generation == 2
