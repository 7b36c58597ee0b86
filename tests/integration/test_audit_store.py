"""The audit store on real SQLite, PostgreSQL and MariaDB: history, past states, duplicates,
positions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.records import IssueEventRecord
from domain.severity import Severity
from harness.stories import BASE_TIME, IssueStory
from infra.database import create_database_engine
from projections.audit_store import (
    AuditStore,
    BeforeOpening,
    UnknownIssue,
    VersionNotFound,
    state_view,
)
from projections.issue_event_reading import Record
from projections.lookup import fold_lookup, issue_view
from projections.lookup_store import LookupStore

TOPIC = "issue-events"


@pytest.fixture(params=["sqlite", "postgres", pytest.param("mysql", marks=pytest.mark.mysql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/audit.db"
    return str(request.getfixturevalue(f"fresh_{request.param}_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[AuditStore]:
    audit = AuditStore.open(database_url)
    yield audit
    audit.close()


def story() -> IssueStory:
    """Opened, two more alerts, panic, resolved: five versions a minute apart."""
    issue = IssueStory(issue_id="5c1d7e0a-0000-4000-8000-000000000001", channel_id="C0DB")
    issue.opened("primary does not answer")
    issue.grouped("still down")
    issue.grouped("replica down too")
    issue.severity_changed(Severity.PANIC)
    issue.resolved()
    return issue


def batch(events: list[IssueEventRecord], partition: int = 0, first: int = 0) -> list[Record]:
    return [Record.of(partition, first + i, event) for i, event in enumerate(events)]


def test_audit_at_a_version_returns_the_historical_state(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events))
    for event in events:
        then = store.at_version(event.issue_id, event.version)
        assert then.version == event.version
        assert then.snapshot == event.issue
    second = store.at_version(events[0].issue_id, 2)
    assert (second.snapshot.alert_count, second.snapshot.status) == (2, "open")
    assert state_view(store.at_version(events[0].issue_id, 5))["status"] == "resolved"


def test_the_last_state_equals_the_live_lookup_view(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events))
    issue_id = events[0].issue_id
    live = issue_view(fold_lookup(events)[issue_id])
    assert state_view(store.at_version(issue_id, len(events))) == live


def test_history_lists_every_event_in_version_order(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events[:2]))
    store.apply_batch("audit", TOPIC, batch(events[2:], first=2))
    history = store.history(events[0].issue_id)
    assert [(h.version, h.type) for h in history] == [
        (1, "IssueOpened"),
        (2, "AlertGrouped"),
        (3, "AlertGrouped"),
        (4, "SeverityChanged"),
        (5, "IssueResolved"),
    ]
    assert [h.source for h in history] == [f"alerts[0]@{n}" for n in range(5)]


def test_the_state_at_a_time_is_after_the_last_event_by_then(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events))
    issue_id = events[0].issue_id
    assert store.at_time(issue_id, BASE_TIME).version == 1
    assert store.at_time(issue_id, BASE_TIME + timedelta(minutes=2, seconds=59)).version == 3
    assert store.at_time(issue_id, BASE_TIME + timedelta(days=1)).version == 5
    with pytest.raises(BeforeOpening, match="did not exist yet at 2024-05-01T11:59:59Z"):
        store.at_time(issue_id, BASE_TIME - timedelta(seconds=1))


def test_questions_the_store_cannot_answer_say_why(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events))
    with pytest.raises(UnknownIssue, match="no issue with id nope"):
        store.history("nope")
    with pytest.raises(VersionNotFound, match="has no version 6: recorded versions are 1-5"):
        store.at_version(events[0].issue_id, 6)
    with pytest.raises(VersionNotFound, match="has no version 0"):
        store.at_version(events[0].issue_id, 0)


def test_a_duplicated_event_is_recorded_once(store: AuditStore) -> None:
    events = story().events
    assert store.apply_batch("audit", TOPIC, batch(events[:3])) == 3
    # The log after a crash: the same events again, and twice within one batch.
    replayed = events[1:3] + events[1:]
    assert store.apply_batch("audit", TOPIC, batch(replayed, first=3)) == 2
    assert [h.version for h in store.history(events[0].issue_id)] == [1, 2, 3, 4, 5]
    assert store.conflicts == 0


def test_a_different_event_for_a_recorded_version_is_a_conflict_the_first_wins(
    store: AuditStore,
) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events[:2]))
    impostor = events[1].model_copy(update={"event_id": "other", "type": "IssueResolved"})
    assert store.apply_batch("audit", TOPIC, batch([impostor, events[2]], first=2)) == 1
    assert store.conflicts == 1
    assert store.history(events[0].issue_id)[1].event_id == events[1].event_id


def test_a_version_that_arrives_early_is_kept_and_its_predecessor_fills_the_gap_later(
    store: AuditStore,
) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch([events[0], events[3]]))
    issue_id = events[0].issue_id
    assert [h.version for h in store.history(issue_id)] == [1, 4]
    assert store.at_version(issue_id, 4).snapshot == events[3].issue
    with pytest.raises(VersionNotFound, match="recorded versions are 1, 4"):
        store.at_version(issue_id, 2)
    # Moved issues continue on another partition: the missing versions come from there.
    assert store.apply_batch("audit", TOPIC, batch(events[1:3], partition=1)) == 2
    assert [h.version for h in store.history(issue_id)] == [1, 2, 3, 4]
    assert store.at_version(issue_id, 2).snapshot == events[1].issue


def test_positions_are_kept_with_the_events_and_never_go_back(store: AuditStore) -> None:
    events = story().events
    store.apply_batch("audit", TOPIC, batch(events[:2], partition=2, first=10))
    store.apply_batch("audit", TOPIC, [], next_offsets={3: 7})
    assert store.positions("audit", TOPIC, range(4)) == {2: 12, 3: 7}
    # A batch from before the stored position (a second auditor, a replay) changes nothing.
    assert store.apply_batch("audit", TOPIC, batch(events[2:], partition=2, first=5)) == 0
    assert store.positions("audit", TOPIC, range(4)) == {2: 12, 3: 7}
    assert len(store.history(events[0].issue_id)) == 2
    assert store.positions("other", TOPIC, range(4)) == {}


def test_a_reopened_store_resumes_from_its_positions(database_url: str) -> None:
    events = story().events
    first = AuditStore.open(database_url)
    first.apply_batch("audit", TOPIC, batch(events[:3]))
    first.close()
    again = AuditStore.open(database_url)
    try:
        assert again.positions("audit", TOPIC, [0]) == {0: 3}
        again.apply_batch("audit", TOPIC, batch(events[3:], first=3))
        assert len(again.history(events[0].issue_id)) == 5
    finally:
        again.close()


def test_the_audit_tables_live_beside_the_lookup_views_in_postgres(
    fresh_postgres_url: str,
) -> None:
    events = story().events
    lookup = LookupStore(create_database_engine(fresh_postgres_url))
    lookup.create_schema()
    audit = AuditStore.open(fresh_postgres_url)
    try:
        audit.apply_batch("lookup", TOPIC, batch(events))
        lookup.apply_batch("lookup", TOPIC, batch(events[:1]))
        assert lookup.get_issue(events[0].issue_id)["version"] == 1  # type: ignore[index]
        assert audit.positions("lookup", TOPIC, [0]) == {0: 5}
        assert lookup.positions("lookup", TOPIC) == {0: 1}
        tables = set(sa.inspect(lookup.engine).get_table_names())
        assert {"audit_events_g1", "audit_positions_g1"} <= tables
    finally:
        audit.close()
