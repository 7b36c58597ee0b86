"""The lookup read model in SQL (SQLite, PostgreSQL or MySQL): its generations and writes.

The consumed Kafka position of the projection is stored in the same database and written in
the same transaction as the rows it produced, so the view and its position can never
disagree: after a crash the projector resumes exactly after the last committed batch, and
because rows only move to strictly newer issue versions, even re-reading a batch is harmless.

The view exists in generations (`projections.lookup_tables`, `projections.generations`):
queries read the live one; a writer names the generation it owns and is told
(`GenerationRetired`) when a replay has replaced it. The API's queries are
`projections.lookup_reader`'s; the ones here serve the other processes and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa

from domain.records import IssueEventRecord
from projections.generations import GenerationRegistry
from projections.issue_event_reading import Record, batch_positions
from projections.lookup import folded_inputs, iso_utc, issue_row, issue_view, latest_events
from projections.lookup_retention import apply_retention
from projections.lookup_tables import (
    LookupTables,
    create_tables,
    drop_tables,
    lookup_tables,
    mysql_values_upsert,
    postgres_recordset_upsert,
    row_parameters,
    sqlite_values_upsert,
    upgrade_rows,
)
from projections.move_mapping_store import read_move_mappings, write_move_changes
from projections.move_mappings import MoveMapping, mapping_changes
from projections.retention import RetentionPolicy, RetentionResult
from projections.upserts import SUPPORTED_DIALECTS, raise_offsets

T = TypeVar("T")

READ_MODEL = "lookup"

# Any fixed number; it names the lock alertfold's processes take while creating tables.


class LookupStore:
    """Issues by id, channel and correlation id, plus the projection's Kafka positions.

    Thread-safe (it holds only the engine and immutable statements), so the projector can
    write from a worker thread while the API reads.
    """

    def __init__(self, engine: sa.Engine) -> None:
        dialect = engine.dialect.name
        if dialect not in SUPPORTED_DIALECTS:
            raise ValueError(f"LookupStore supports SQLite, PostgreSQL and MySQL, not {dialect!r}")
        self._engine = engine
        self._dialect = dialect
        self._registry = GenerationRegistry(READ_MODEL)
        self._upserts: dict[int, str] = {}

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def create_schema(self) -> None:
        """Create the generation registry and the live generation's tables, if missing.

        The API and the projector both call this as they start, often at the same moment,
        so a check-then-create would race. Every statement is `IF NOT EXISTS` or `ON
        CONFLICT DO NOTHING`; on PostgreSQL, where even that can collide in the catalog, a
        transaction-scoped advisory lock also makes the second process wait for the first.
        """
        with self._engine.begin() as conn:
            state = self._registry.create(conn)  # takes the schema lock first
            tables = lookup_tables(state.live)
            if create_tables(conn, tables):
                upgrade_rows(conn, tables.issues)

    # -- generations ---------------------------------------------------------------------

    def live_generation(self) -> int:
        with self._engine.connect() as conn:
            return self._registry.state(conn).live

    def building_generation(self) -> int | None:
        with self._engine.connect() as conn:
            return self._registry.state(conn).building

    def begin_generation(self) -> tuple[int, list[int]]:
        """Create the tables of a new generation to build; the live one is untouched.

        Returns the new generation and the stale ones whose tables were dropped here: the
        unfinished generation of an interrupted replay, or an old one a replay switched
        away from but could not drop.
        """
        present = self.generations_present()
        with self._engine.begin() as conn:
            generation, _unfinished = self._registry.begin_building(conn)
            live = self._registry.state(conn).live
            stale = sorted(present - {live, generation})
            for old in stale:
                drop_tables(conn, lookup_tables(old))
            create_tables(conn, lookup_tables(generation))
        return generation, stale

    def switch_to(self, generation: int) -> int:
        """Make the generation being built live, atomically; returns the replaced one."""
        with self._engine.begin() as conn:
            return self._registry.switch(conn, generation)

    def drop_generation(self, generation: int) -> None:
        """Drop a retired or abandoned generation's tables (never the live one's)."""
        with self._engine.begin() as conn:
            state = self._registry.hold(conn)
            if generation == state.live:
                raise ValueError(f"generation {generation} is live")
            self._registry.abandon(conn, generation)
            drop_tables(conn, lookup_tables(generation))

    def generations_present(self) -> set[int]:
        """Generations that have tables in the database (for checks and clean-up)."""
        names = set(sa.inspect(self._engine).get_table_names())
        return {
            int(name.removeprefix("issues_g"))
            for name in names
            if name.startswith("issues_g") and name.removeprefix("issues_g").isdigit()
        }

    # -- writing -------------------------------------------------------------------------

    def apply_batch(
        self,
        projection: str,
        topic: str,
        records: Sequence[Record],
        *,
        next_offsets: Mapping[int, int] | None = None,
        generation: int | None = None,
    ) -> int:
        """Apply `(partition, offset, event)` records and advance positions, atomically.

        Each partition's next offset becomes the highest record offset + 1, or the value in
        `next_offsets` when that is further (records the consumer skipped: undecodable
        values, transaction markers). Positions never move backwards. Writes go to
        `generation` (the live one when None); `GenerationRetired` when it was replaced,
        with nothing written. Returns how many issue rows changed.
        """
        positions = batch_positions(records, next_offsets or {})
        events = [record.event for record in records]
        latest = latest_events(events)
        if not positions and not latest:
            return 0
        moves = mapping_changes(events)
        folded = folded_inputs(events)
        with self._writing(generation) as (conn, tables):
            self._write_positions(conn, tables, projection, topic, positions)
            raise_offsets(
                conn,
                tables.folded,
                [{"topic": t, "partition": p, "next_offset": n} for (t, p), n in folded.items()],
                "next_offset",
            )
            write_move_changes(conn, tables.moves, moves)
            return self._write_issues(conn, tables, latest)

    @contextmanager
    def _writing(self, generation: int | None) -> Iterator[tuple[sa.Connection, LookupTables]]:
        with self._engine.begin() as conn:
            yield conn, lookup_tables(self._registry.writable(conn, generation))

    def _write_positions(
        self,
        conn: sa.Connection,
        tables: LookupTables,
        projection: str,
        topic: str,
        positions: Mapping[int, int],
    ) -> None:
        raise_offsets(
            conn,
            tables.positions,
            [
                {"projection": projection, "topic": topic, "partition": p, "next_offset": n}
                for p, n in sorted(positions.items())
            ],
            "next_offset",
        )

    def move_mappings(self, *, generation: int | None = None) -> list[MoveMapping]:
        """Where alerts of moved issues go, oldest move first."""
        with self._engine.connect() as conn:
            chosen = self._registry.state(conn).live if generation is None else generation
            return read_move_mappings(conn, lookup_tables(chosen).moves)

    def _write_issues(
        self, conn: sa.Connection, tables: LookupTables, latest: Mapping[str, IssueEventRecord]
    ) -> int:
        # One hand-written statement per dialect: SQLAlchemy's per-row parameter processing
        # would cost more than the database work itself. Within a batch the newest event per
        # issue is picked in Python; against the stored row the statement decides.
        if not latest:
            return 0
        rows = [issue_row(event) for event in latest.values()]
        upsert = self._upsert(tables)
        if self._dialect == "postgresql":
            document = orjson.dumps(rows).decode()
            return len(conn.execute(sa.text(upsert), {"rows": document}).all())
        parameters = [row_parameters(row, self._dialect) for row in rows]
        if self._dialect == "sqlite":
            return int(conn.exec_driver_sql(upsert, parameters).rowcount)
        # MySQL counts an update twice in its row count: which rows will change is asked
        # first, their stored rows locked until the transaction ends.
        issues = tables.issues
        stored = dict(
            conn.execute(
                sa.select(issues.c.id, issues.c.version)
                .where(issues.c.id.in_(list(latest)))
                .with_for_update()
            )
            .tuples()
            .all()
        )
        conn.exec_driver_sql(upsert, parameters)
        return sum(1 for i, e in latest.items() if stored.get(i, 0) < e.version)

    def _upsert(self, tables: LookupTables) -> str:
        statement = self._upserts.get(tables.generation)
        if statement is None:
            if self._dialect == "postgresql":
                statement = postgres_recordset_upsert(tables, self._engine.dialect)
            elif self._dialect == "sqlite":
                statement = sqlite_values_upsert(tables)
            else:
                statement = mysql_values_upsert(tables)
            self._upserts[tables.generation] = statement
        return statement

    def apply_retention(
        self, now: datetime, policy: RetentionPolicy, *, generation: int | None = None
    ) -> RetentionResult:
        """Delete expired closed issues and strip expired alert bodies (`projections.retention`).

        A row the projector moves to a newer version meanwhile is left alone: the strip is
        conditional on the version it was decided for.
        """
        with self._writing(generation) as (conn, tables):
            return apply_retention(conn, tables.issues, policy.cutoffs(now))

    # -- reading -------------------------------------------------------------------------

    def _reading(
        self, work: Callable[[sa.Connection, sa.Table], T], generation: int | None = None
    ) -> T:
        """Run a query on the live generation's `issues` table (or on `generation`'s).

        A replay may switch generations and drop the old tables between reading the live
        generation and querying it; the query then fails and is run again on the new one.
        """
        attempts = 3
        while True:
            with self._engine.connect() as conn:
                chosen = self._registry.state(conn).live if generation is None else generation
                try:
                    return work(conn, lookup_tables(chosen).issues)
                except sa.exc.DBAPIError:
                    attempts -= 1
                    if generation is not None or attempts == 0:
                        raise
                    if self.live_generation() == chosen:
                        raise

    def positions(
        self, projection: str, topic: str, *, generation: int | None = None
    ) -> dict[int, int]:
        """Partition → next offset to consume, for the partitions with a stored position."""
        with self._engine.connect() as conn:
            chosen = self._registry.state(conn).live if generation is None else generation
            table = lookup_tables(chosen).positions
            query = sa.select(table.c.partition, table.c.next_offset).where(
                table.c.projection == projection, table.c.topic == topic
            )
            return {partition: offset for partition, offset in conn.execute(query).tuples()}

    def rows(self, generation: int | None = None) -> dict[str, dict[str, Any]]:
        """Every `issues` row as stored (id → row), for comparing generations."""

        def query(conn: sa.Connection, issues: sa.Table) -> dict[str, dict[str, Any]]:
            return {row.id: row._asdict() for row in conn.execute(sa.select(issues))}

        return self._reading(query, generation)

    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        def query(conn: sa.Connection, issues: sa.Table) -> dict[str, Any] | None:
            row = conn.execute(sa.select(issues).where(issues.c.id == issue_id)).first()
            return None if row is None else issue_view(row._asdict())

        return self._reading(query)

    def list_issues(
        self,
        channel_id: str | None = None,
        status: str | None = None,
        correlation_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        slack_ts: str | None = None,
    ) -> list[dict[str, Any]]:
        """Issues matching every given filter, most recently updated first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")

        def query(conn: sa.Connection, issues: sa.Table) -> list[dict[str, Any]]:
            select = sa.select(issues)
            if channel_id is not None:
                select = select.where(issues.c.channel_id == channel_id)
            if status is not None:
                select = select.where(issues.c.status == status)
            if correlation_id is not None:
                select = select.where(issues.c.correlation_id == correlation_id)
            if slack_ts is not None:
                select = select.where(issues.c.slack_ts == slack_ts)
            select = (
                select.order_by(issues.c.updated_at.desc(), issues.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [issue_view(row._asdict()) for row in conn.execute(select)]

        return self._reading(query)

    def issue_by_slack_ts(self, channel_id: str, slack_ts: str) -> dict[str, Any] | None:
        """The issue whose Slack message in this channel is `slack_ts`."""
        found = self.list_issues(channel_id=channel_id, slack_ts=slack_ts, limit=1)
        return found[0] if found else None

    def open_issue(self, channel_id: str, correlation_id: str) -> dict[str, Any] | None:
        """The open issue a new alert with this correlation id would be grouped into."""
        found = self.list_issues(
            channel_id=channel_id, status="open", correlation_id=correlation_id, limit=1
        )
        return found[0] if found else None

    def active_channels(self) -> list[dict[str, Any]]:
        """Channels with open issues, most recently active first."""

        def query(conn: sa.Connection, issues: sa.Table) -> list[dict[str, Any]]:
            last_activity = sa.func.max(issues.c.updated_at)
            select = (
                sa.select(
                    issues.c.channel_id,
                    sa.func.count().label("open_issues"),
                    last_activity.label("last_activity"),
                )
                .where(issues.c.status == "open")
                .group_by(issues.c.channel_id)
                .order_by(last_activity.desc(), issues.c.channel_id)
            )
            return [
                {"channel_id": channel, "open_issues": count, "last_activity": _iso(last)}
                for channel, count, last in conn.execute(select).tuples()
            ]

        return self._reading(query)

    def count_issues(self, generation: int | None = None) -> int:
        def query(conn: sa.Connection, issues: sa.Table) -> int:
            return int(conn.execute(sa.select(sa.func.count()).select_from(issues)).scalar_one())

        return self._reading(query, generation)

    def count_by_status(self) -> dict[str, int]:
        """Issues per status, for the metrics endpoint."""

        def query(conn: sa.Connection, issues: sa.Table) -> dict[str, int]:
            select = sa.select(issues.c.status, sa.func.count()).group_by(issues.c.status)
            return {str(status): int(count) for status, count in conn.execute(select)}

        return self._reading(query)


def _iso(value: datetime | str | None) -> str | None:
    # Aggregates lose the column type on some backends; SQLite then hands back raw text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return iso_utc(value)
