"""The lookup store on real databases: SQLite files and a PostgreSQL server.

What matters most: the view and the consumed positions move together or not at all, and
applying the same records twice changes nothing.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from domain.records import IssueEventRecord
from domain.severity import Severity
from harness.stories import BASE_TIME, IssueStory, issue_event
from infra.database import create_database_engine, database_reachable
from projections.issue_event_reading import Record
from projections.lookup import fold_lookup, issue_row, issue_view
from projections.lookup_store import LookupStore
from projections.lookup_tables import lookup_tables, sqlite_timestamp
from tests.support.lookup_stores import EACH_DATABASE, lookup_store_on

pytestmark = pytest.mark.integration

TOPIC = "issue-events"
PROJECTION = "lookup"


@pytest.fixture(params=EACH_DATABASE)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookupStore]:
    yield from lookup_store_on(request, tmp_path)


def on_partition(
    partition: int, events: Sequence[IssueEventRecord], first_offset: int = 0
) -> list[Record]:
    return [Record.of(partition, first_offset + n, event) for n, event in enumerate(events)]


def table_state(lookup: LookupStore) -> tuple[list[dict[str, Any]], dict[int, int]]:
    return lookup.list_issues(limit=10_000), lookup.positions(PROJECTION, TOPIC)


# -- applying batches ------------------------------------------------------------------


def test_apply_batch_stores_rows_and_positions(store: LookupStore) -> None:
    story = IssueStory("i-1", channel_id="C1")
    story.opened()
    story.grouped()
    other = IssueStory("i-2", channel_id="C2")
    other.opened()

    changed = store.apply_batch(
        PROJECTION,
        TOPIC,
        on_partition(0, story.events, first_offset=10) + on_partition(3, other.events),
    )

    assert changed == 2
    assert store.positions(PROJECTION, TOPIC) == {0: 12, 3: 1}
    assert store.positions("another-projection", TOPIC) == {}
    assert store.count_issues() == 2
    issue = store.get_issue("i-1")
    assert issue is not None
    assert issue["version"] == 2
    assert issue["alert_count"] == 2
    assert issue["last_event_type"] == "AlertGrouped"
    assert issue["last_alert"]["text"] == "another alert"


def test_view_equals_the_pure_fold(store: LookupStore) -> None:
    stories = [IssueStory(f"i-{n}", channel_id=f"C{n % 4}") for n in range(30)]
    for story in stories:
        story.opened()
    for story in stories[::3]:
        story.severity_changed(Severity.PANIC)
        story.resolved()
    events = [event for story in stories for event in story.events]

    for start in range(0, len(events), 7):
        store.apply_batch(PROJECTION, TOPIC, on_partition(1, events[start : start + 7], start))

    expected = {issue_id: issue_view(row) for issue_id, row in fold_lookup(events).items()}
    stored = {issue["id"]: issue for issue in store.list_issues(limit=1000)}
    assert stored == expected
    assert store.positions(PROJECTION, TOPIC) == {1: len(events)}


def test_reapplying_the_same_batch_is_a_no_op(store: LookupStore) -> None:
    story = IssueStory("i-1")
    story.opened()
    story.grouped()
    story.resolved()
    batch = on_partition(2, story.events)
    store.apply_batch(PROJECTION, TOPIC, batch)
    before = table_state(store)

    changed = store.apply_batch(PROJECTION, TOPIC, batch)

    assert changed == 0
    assert table_state(store) == before


def test_older_versions_never_overwrite_newer_ones(store: LookupStore) -> None:
    story = IssueStory("i-1")
    opened = story.opened()
    grouped = story.grouped()
    resolved = story.resolved()
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, opened), Record.of(0, 1, resolved)])

    changed = store.apply_batch(
        PROJECTION, TOPIC, [Record.of(0, 2, grouped), Record.of(0, 3, opened)]
    )

    assert changed == 0
    issue = store.get_issue("i-1")
    assert issue is not None
    assert issue["status"] == "resolved"
    assert issue["version"] == 3
    assert store.positions(PROJECTION, TOPIC) == {0: 4}


def test_newest_version_in_a_batch_wins_whatever_its_place(store: LookupStore) -> None:
    story = IssueStory("i-1")
    events = [story.opened(), story.grouped(), story.grouped(), story.grouped()]

    store.apply_batch(
        PROJECTION, TOPIC, on_partition(0, [events[3], events[0], events[2], events[1]])
    )

    issue = store.get_issue("i-1")
    assert issue is not None
    assert issue["version"] == 4
    assert issue["alert_count"] == 4


def test_positions_never_move_backwards(store: LookupStore) -> None:
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 41, issue_event(issue_id="a"))])

    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 5, issue_event(issue_id="b"))])

    assert store.positions(PROJECTION, TOPIC) == {0: 42}


def test_positions_can_move_without_events(store: LookupStore) -> None:
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 3, issue_event())], next_offsets={1: 17})
    assert store.positions(PROJECTION, TOPIC) == {0: 4, 1: 17}

    changed = store.apply_batch(PROJECTION, TOPIC, [], next_offsets={0: 9})

    assert changed == 0
    assert store.positions(PROJECTION, TOPIC) == {0: 9, 1: 17}
    assert store.count_issues() == 1


def test_empty_batch_changes_nothing(store: LookupStore) -> None:
    assert store.apply_batch(PROJECTION, TOPIC, []) == 0
    assert table_state(store) == ([], {})


def test_constraint_violation_rolls_back_rows_and_positions(store: LookupStore) -> None:
    first = IssueStory("i-1")
    first.opened()
    store.apply_batch(PROJECTION, TOPIC, on_partition(0, first.events))
    before = table_state(store)

    first.grouped()
    second = IssueStory("i-2")
    second.opened()
    broken = issue_event(issue_id="i-3")
    # Bypasses validation to put a NULL into a NOT NULL column, as a corrupt record would.
    broken = broken.model_copy(update={"issue": broken.issue.model_copy(update={"header": None})})
    batch = [
        Record.of(0, 1, first.events[1]),
        Record.of(1, 0, second.events[0]),
        Record.of(1, 1, broken),
    ]

    with pytest.raises(sa.exc.IntegrityError):
        store.apply_batch(PROJECTION, TOPIC, batch)

    assert table_state(store) == before
    assert store.get_issue("i-2") is None


def test_failure_after_the_writes_rolls_everything_back(
    store: LookupStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = IssueStory("i-1")
    story.opened()
    store.apply_batch(PROJECTION, TOPIC, on_partition(0, story.events))
    before = table_state(store)
    original = LookupStore._write_issues

    def write_then_fail(self: LookupStore, conn: sa.Connection, *args: Any) -> int:
        original(self, conn, *args)
        raise RuntimeError("crash after the writes, before the commit")

    monkeypatch.setattr(LookupStore, "_write_issues", write_then_fail)
    story.grouped()
    new = IssueStory("i-2")
    new.opened()

    with pytest.raises(RuntimeError, match="before the commit"):
        store.apply_batch(
            PROJECTION, TOPIC, [Record.of(0, 1, story.events[1]), Record.of(5, 0, new.events[0])]
        )

    assert table_state(store) == before

    monkeypatch.undo()
    store.apply_batch(
        PROJECTION, TOPIC, [Record.of(0, 1, story.events[1]), Record.of(5, 0, new.events[0])]
    )
    assert store.positions(PROJECTION, TOPIC) == {0: 2, 5: 1}
    assert store.count_issues() == 2


def test_large_batches(store: LookupStore) -> None:
    events: list[IssueEventRecord] = []
    for n in range(1500):
        story = IssueStory(f"i-{n:05d}", channel_id=f"C{n % 10}")
        story.opened()
        if n % 2:
            story.grouped()
        events.extend(story.events)

    store.apply_batch(PROJECTION, TOPIC, on_partition(0, events))
    changed = store.apply_batch(PROJECTION, TOPIC, on_partition(0, events))

    assert changed == 0
    assert store.count_issues() == 1500
    assert store.positions(PROJECTION, TOPIC) == {0: len(events)}
    issue = store.get_issue("i-00999")
    assert issue is not None
    assert issue["version"] == 2


def test_create_schema_is_idempotent(store: LookupStore) -> None:
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, issue_event())])

    store.create_schema()

    assert store.count_issues() == 1


# -- queries ---------------------------------------------------------------------------


@pytest.fixture
def populated(store: LookupStore) -> LookupStore:
    """Three channels: C-A with two open issues, C-B one open and one resolved, C-C resolved."""
    a1 = IssueStory("a1", channel_id="C-A", correlation_id="disk")
    a2 = IssueStory("a2", channel_id="C-A", correlation_id="cpu", start=BASE_TIME.replace(hour=13))
    b1 = IssueStory("b1", channel_id="C-B", correlation_id="disk", start=BASE_TIME.replace(hour=11))
    b2 = IssueStory("b2", channel_id="C-B", correlation_id="disk", start=BASE_TIME.replace(hour=14))
    c1 = IssueStory("c1", channel_id="C-C", correlation_id="mem")
    for story in (a1, a2, b1, b2, c1):
        story.opened()
    a1.grouped()
    b1.resolved()
    c1.grouped()
    c1.resolved()
    events = [e for s in (a1, a2, b1, b2, c1) for e in s.events]
    store.apply_batch(PROJECTION, TOPIC, on_partition(0, events))
    return store


def ids(issues: list[dict[str, Any]]) -> list[str]:
    return [issue["id"] for issue in issues]


def test_list_issues_newest_updated_first(populated: LookupStore) -> None:
    assert ids(populated.list_issues()) == ["b2", "a2", "c1", "a1", "b1"]
    assert ids(populated.list_issues(limit=2)) == ["b2", "a2"]
    assert ids(populated.list_issues(limit=2, offset=2)) == ["c1", "a1"]
    assert populated.list_issues(offset=10) == []


def test_list_issues_filters(populated: LookupStore) -> None:
    assert ids(populated.list_issues(channel_id="C-A")) == ["a2", "a1"]
    assert ids(populated.list_issues(status="resolved")) == ["c1", "b1"]
    assert ids(populated.list_issues(status="open")) == ["b2", "a2", "a1"]
    assert ids(populated.list_issues(correlation_id="disk")) == ["b2", "a1", "b1"]
    assert ids(populated.list_issues(channel_id="C-B", correlation_id="disk")) == ["b2", "b1"]
    assert ids(populated.list_issues(channel_id="C-B", status="resolved")) == ["b1"]
    assert populated.list_issues(channel_id="C-unknown") == []
    with pytest.raises(ValueError):
        populated.list_issues(limit=-1)


def test_issue_by_its_slack_message(store: LookupStore) -> None:
    event = issue_event(issue_id="p1", channel_id="C-P")
    posted = event.model_copy(
        update={
            "version": 2,
            "type": "SlackMessagePosted",
            "event_id": "p1:2",
            "issue": event.issue.model_copy(update={"slack_ts": "1795426000.000100"}),
        }
    )
    store.apply_batch(PROJECTION, TOPIC, on_partition(0, [event, posted]))
    found = store.issue_by_slack_ts("C-P", "1795426000.000100")
    assert found is not None and found["id"] == "p1"
    assert store.issue_by_slack_ts("C-OTHER", "1795426000.000100") is None


def test_open_issue_by_channel_and_correlation(populated: LookupStore) -> None:
    found = populated.open_issue("C-B", "disk")
    assert found is not None
    assert found["id"] == "b2"
    assert populated.open_issue("C-C", "mem") is None
    assert populated.open_issue("C-A", "mem") is None


def test_get_issue_is_json_ready(populated: LookupStore) -> None:
    issue = populated.get_issue("c1")

    assert issue is not None
    assert issue == {
        "id": "c1",
        "channel_id": "C-C",
        "correlation_id": "mem",
        "status": "resolved",
        "severity": "error",
        "alert_count": 2,
        "header": "Disk almost full",
        "text": "resolved",
        "opened_at": "2024-05-01T12:00:00Z",
        "updated_at": "2024-05-01T12:02:00Z",
        "resolved_at": "2024-05-01T12:02:00Z",
        "version": 3,
        "last_event_type": "IssueResolved",
        "last_event_id": "c1:3",
        "resolution": None,
        "archived_at": None,
        "escalation_level": 0,
        "mentions": [],
        "presentable": True,
        "slack_ts": None,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "investigated_by": None,
        "muted_by": None,
        "resolved_by": None,
        "silenced_until": None,
        "silence_id": None,
        "last_alert": {
            "channelId": "C-C",
            "correlationId": "mem",
            "header": "Disk almost full",
            "text": "resolved",
            "severity": "error",
            "timestamp": "2024-05-01T12:02:00Z",
        },
        "members": [],
        "truncated_alerts": 0,
    }
    assert populated.get_issue("nope") is None


def test_active_channels(populated: LookupStore) -> None:
    assert populated.active_channels() == [
        {"channel_id": "C-B", "open_issues": 1, "last_activity": "2024-05-01T14:00:00Z"},
        {"channel_id": "C-A", "open_issues": 2, "last_activity": "2024-05-01T13:00:00Z"},
    ]


def test_count_issues(populated: LookupStore) -> None:
    assert populated.count_issues() == 5


def test_times_with_offsets_are_stored_as_utc(store: LookupStore) -> None:
    tokyo = timezone(timedelta(hours=9))
    event = issue_event(
        opened_at=datetime(2024, 5, 1, 21, 0, 0, 250_000, tzinfo=tokyo),
        updated_at=datetime(2024, 5, 1, 21, 30, tzinfo=tokyo),
    )
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, event)])

    issue = store.get_issue("issue-1")
    assert issue is not None
    assert issue["opened_at"] == "2024-05-01T12:00:00.250000Z"
    assert issue["updated_at"] == "2024-05-01T12:30:00Z"
    assert store.active_channels()[0]["last_activity"] == "2024-05-01T12:30:00Z"


def test_bulk_writes_store_times_as_the_column_type_does(store: LookupStore) -> None:
    """The batch writer bypasses SQLAlchemy's type processing; both must agree."""
    moment = datetime(2024, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    bulk = issue_event(issue_id="bulk", opened_at=moment, updated_at=moment)
    core = issue_event(issue_id="core", opened_at=moment, updated_at=moment)
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, bulk)])
    issues = lookup_tables(store.live_generation()).issues
    with store.engine.begin() as conn:
        conn.execute(issues.insert(), issue_row(core))

    with store.engine.connect() as conn:
        raw = {
            issue_id: text
            for issue_id, text in conn.execute(
                sa.select(issues.c.id, sa.cast(issues.c.opened_at, sa.String))
            ).tuples()
        }
        earlier = conn.execute(
            sa.select(sa.func.count())
            .select_from(issues)
            .where(issues.c.updated_at < datetime(2024, 5, 1, 12, 0, 0, 6, tzinfo=UTC))
        ).scalar_one()
    assert raw["bulk"] == raw["core"]
    assert earlier == 2
    views = [store.get_issue("bulk"), store.get_issue("core")]
    assert [v["opened_at"] for v in views if v] == ["2024-05-01T12:00:00.000005Z"] * 2


def test_sqlite_times_are_fixed_width_utc_text(store: LookupStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite storage format")
    store.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, issue_event(opened_at=BASE_TIME))])

    with store.engine.connect() as conn:
        table = lookup_tables(store.live_generation()).issues.name
        stored = conn.exec_driver_sql(f"SELECT opened_at, resolved_at FROM {table}").one()

    assert tuple(stored) == ("2024-05-01T12:00:00.000000Z", None)


# -- engines ---------------------------------------------------------------------------


def test_sqlite_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "views.db"
    engine = create_database_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
            }
        assert path.parent.is_dir()
        assert pragmas == {
            "journal_mode": "wal",
            "busy_timeout": 10_000,
            "synchronous": 1,
            "foreign_keys": 1,
        }
        assert database_reachable(engine) == (True, "sqlite ok")
    finally:
        engine.dispose()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = create_database_engine("sqlite://")
    lookup = LookupStore(engine)
    lookup.create_schema()
    lookup.apply_batch(PROJECTION, TOPIC, [Record.of(0, 0, issue_event())])
    assert lookup.count_issues() == 1


@pytest.mark.parametrize(
    "url",
    ["postgres://u:secret@db.example:5432/alerts", "postgresql://u:secret@db.example/alerts"],
)
def test_postgres_urls_use_psycopg(url: str) -> None:
    engine = create_database_engine(url)
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.database == "alerts"
    assert engine.pool._pre_ping


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("mysql://u:secret@db.example:3306/alerts", "mysql+pymysql"),
        ("mariadb://u:secret@db.example/alerts", "mariadb+pymysql"),
    ],
)
def test_mysql_urls_use_pymysql_in_utf8mb4(url: str, driver: str) -> None:
    engine = create_database_engine(url)
    assert engine.url.drivername == driver
    assert engine.url.database == "alerts"
    assert engine.url.query["charset"] == "utf8mb4"
    assert engine.pool._pre_ping


@pytest.mark.parametrize(
    "url",
    [
        "mysql+mysqldb://u:secret@host/db",
        "postgresql+asyncpg://u@h/db",
        "redis://localhost",
        "nonsense",
    ],
)
def test_other_urls_are_rejected_clearly(url: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        create_database_engine(url)
    message = str(excinfo.value)
    assert "sqlite:///" in message or "invalid database URL" in message
    assert "secret" not in message


def test_unreachable_postgres_is_reported_not_raised() -> None:
    port = unused_port()
    engine = create_database_engine(f"postgresql://nobody@127.0.0.1:{port}/none?connect_timeout=2")
    reachable, detail = database_reachable(engine)
    assert reachable is False
    assert detail.startswith("postgresql unreachable: OperationalError")


@pytest.mark.postgres
def test_postgres_is_reachable(fresh_postgres_url: str) -> None:
    engine = create_database_engine(fresh_postgres_url)
    try:
        assert database_reachable(engine) == (True, "postgresql ok")
    finally:
        engine.dispose()


def unused_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_schema_at_once(url: str, processes: int) -> list[BaseException]:
    engines = [create_database_engine(url) for _ in range(processes)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def create(engine: Any) -> None:
        start.wait()
        try:
            LookupStore(engine).create_schema()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if not failures:
        assert LookupStore(engines[0]).count_issues() == 0
    for engine in engines:
        engine.dispose()
    return failures


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_processes_creating_the_schema_at_once_all_succeed(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The API and the projector start together and both create the tables.

    The race is narrow, so SQLite, where each try is cheap, gets many fresh files.
    """
    if kind == "postgresql":
        urls = [request.getfixturevalue("fresh_postgres_url")]
    else:
        urls = [f"sqlite:///{tmp_path}/try{n}/lookup.db" for n in range(30)]
    for url in urls:
        assert create_schema_at_once(url, processes=4) == []


def test_a_table_of_the_earlier_layout_is_upgraded_in_place(tmp_path: Path) -> None:
    """Rows written before the view stored its answers and query columns are rewritten
    from their snapshots when the store opens, and served as if written now."""
    url = f"sqlite:///{tmp_path}/old.db"
    event = issue_event(issue_id="old-1", last_alert=None)
    current = issue_row(event)
    old_columns = [
        c for c in current if c not in ("search_text", "labels", "severity_rank", "acknowledged")
    ]
    with sqlite3.connect(f"{tmp_path}/old.db") as raw:
        raw.execute(f"CREATE TABLE issues_g1 ({', '.join(old_columns)})")
        raw.execute(
            f"INSERT INTO issues_g1 VALUES ({', '.join('?' for _ in old_columns)})",
            [
                event.issue.model_dump_json()
                if name == "snapshot"
                else sqlite_timestamp(current[name])
                if isinstance(current[name], datetime)
                else current[name]
                for name in old_columns
            ],
        )
    store = LookupStore(create_database_engine(url))
    store.create_schema()
    assert store.get_issue("old-1") == issue_view(current)
    assert store.rows()["old-1"]["snapshot"] == current["snapshot"]
    assert store.rows()["old-1"]["labels"] == current["labels"]
