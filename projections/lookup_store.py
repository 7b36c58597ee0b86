"""The lookup read model in SQL (SQLite or PostgreSQL) and its queries.

The consumed Kafka position of the projection is stored in the same database and written in
the same transaction as the rows it produced, so the view and its position can never
disagree: after a crash the projector resumes exactly after the last committed batch, and
because rows only move to strictly newer issue versions, even re-reading a batch is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from domain.records import IssueEventRecord
from projections.lookup import (
    ISSUE_COLUMNS,
    as_utc,
    iso_utc,
    issue_row,
    issue_view,
    latest_events,
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An instant stored in UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps it in a `timestamptz`. SQLite has no time type: it is stored as
    fixed-width ISO 8601 text in UTC (`sqlite_timestamp`), which sorts chronologically and
    which the bulk writer below produces without going through SQLAlchemy.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(len("2024-01-01T00:00:00.000000Z")))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return sqlite_timestamp(value)
        return as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value))
        return as_utc(value)


def sqlite_timestamp(value: datetime) -> str:
    """The text SQLite columns hold for an instant: UTC, microseconds always present."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


metadata = sa.MetaData()

issues = sa.Table(
    "issues",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("channel_id", sa.String, nullable=False),
    sa.Column("correlation_id", sa.String, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("alert_count", sa.Integer, nullable=False),
    sa.Column("header", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_event_type", sa.String, nullable=False),
    sa.Column("last_event_id", sa.String, nullable=False),
    sa.Column("snapshot", sa.Text, nullable=False),
    sa.Index("ix_issues_channel_status", "channel_id", "status"),
    sa.Index("ix_issues_channel_correlation", "channel_id", "correlation_id"),
    sa.Index("ix_issues_status", "status"),
    sa.Index("ix_issues_updated_at", "updated_at"),
)

projection_positions = sa.Table(
    "projection_positions",
    metadata,
    sa.Column("projection", sa.String, primary_key=True),
    sa.Column("topic", sa.String, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)

assert tuple(c.name for c in issues.columns) == ISSUE_COLUMNS


class LookupStore:
    """Issues by id, channel and correlation id, plus the projection's Kafka positions.

    Thread-safe (it holds only the engine and immutable statements), so the projector can
    write from a worker thread while the API reads.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        insert: Any
        if dialect == "postgresql":
            insert = postgresql.insert
        elif dialect == "sqlite":
            insert = sqlite.insert
        else:
            raise ValueError(f"LookupStore supports SQLite and PostgreSQL, not {dialect!r}")
        # Rows are written by one hand-written statement per dialect: SQLAlchemy's per-row
        # parameter processing would cost more than the database work itself. Both end in
        # `WHERE issues.version < excluded.version`, which is `should_apply` in SQL: within a
        # batch the newest event per issue is picked in Python, against the stored row the
        # database decides in the same statement, so nothing ever moves a row backwards.
        self._postgres_upsert: sa.TextClause | None = None
        self._sqlite_upsert = ""
        if dialect == "postgresql":
            self._postgres_upsert = sa.text(_postgres_recordset_upsert(engine.dialect))
        else:
            self._sqlite_upsert = _sqlite_values_upsert()
        upsert_position = insert(projection_positions)
        self._upsert_position = upsert_position.on_conflict_do_update(
            index_elements=[
                projection_positions.c.projection,
                projection_positions.c.topic,
                projection_positions.c.partition,
            ],
            set_={"next_offset": upsert_position.excluded.next_offset},
            where=projection_positions.c.next_offset < upsert_position.excluded.next_offset,
        )

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet.

        The API and the projector both call this as they start, often at the same moment,
        so a check-then-create would race. Every statement is `IF NOT EXISTS`; on PostgreSQL,
        where even that can collide in the catalog, a transaction-scoped advisory lock also
        makes the second process wait for the first.
        """
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
            for table in metadata.sorted_tables:
                conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
                for index in table.indexes:
                    conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

    # -- writing -------------------------------------------------------------------------

    def apply_batch(
        self,
        projection: str,
        topic: str,
        records: Sequence[tuple[int, int, IssueEventRecord]],
        *,
        next_offsets: Mapping[int, int] | None = None,
    ) -> int:
        """Apply `(partition, offset, event)` records and advance positions, atomically.

        Each partition's next offset becomes the highest record offset + 1, or the value in
        `next_offsets` when that is further (records the consumer skipped: undecodable
        values, transaction markers). Positions never move backwards. Returns how many
        issue rows changed.
        """
        positions: dict[int, int] = {}
        for partition, offset, _event in records:
            positions[partition] = max(positions.get(partition, 0), offset + 1)
        for partition, offset in (next_offsets or {}).items():
            positions[partition] = max(positions.get(partition, 0), offset)
        latest = latest_events(event for _partition, _offset, event in records)
        if not positions and not latest:
            return 0
        with self._engine.begin() as conn:
            self._write_positions(conn, projection, topic, positions)
            return self._write_issues(conn, latest)

    def _write_positions(
        self, conn: sa.Connection, projection: str, topic: str, positions: Mapping[int, int]
    ) -> None:
        if not positions:
            return
        conn.execute(
            self._upsert_position,
            [
                {
                    "projection": projection,
                    "topic": topic,
                    "partition": partition,
                    "next_offset": next_offset,
                }
                for partition, next_offset in sorted(positions.items())
            ],
        )

    def _write_issues(self, conn: sa.Connection, latest: Mapping[str, IssueEventRecord]) -> int:
        if not latest:
            return 0
        rows = [issue_row(event) for event in latest.values()]
        if self._postgres_upsert is not None:
            document = json.dumps(rows, default=_json_default, separators=(",", ":"))
            return len(conn.execute(self._postgres_upsert, {"rows": document}).all())
        values = [_sqlite_parameters(row) for row in rows]
        return conn.exec_driver_sql(self._sqlite_upsert, values).rowcount

    # -- reading -------------------------------------------------------------------------

    def positions(self, projection: str, topic: str) -> dict[int, int]:
        """Partition → next offset to consume, for the partitions with a stored position."""
        query = sa.select(
            projection_positions.c.partition, projection_positions.c.next_offset
        ).where(
            projection_positions.c.projection == projection,
            projection_positions.c.topic == topic,
        )
        with self._engine.connect() as conn:
            return {partition: offset for partition, offset in conn.execute(query).tuples()}

    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(issues).where(issues.c.id == issue_id)).first()
        return None if row is None else issue_view(row._asdict())

    def list_issues(
        self,
        channel_id: str | None = None,
        status: str | None = None,
        correlation_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Issues matching every given filter, most recently updated first."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        query = sa.select(issues)
        if channel_id is not None:
            query = query.where(issues.c.channel_id == channel_id)
        if status is not None:
            query = query.where(issues.c.status == status)
        if correlation_id is not None:
            query = query.where(issues.c.correlation_id == correlation_id)
        query = (
            query.order_by(issues.c.updated_at.desc(), issues.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as conn:
            return [issue_view(row._asdict()) for row in conn.execute(query)]

    def open_issue(self, channel_id: str, correlation_id: str) -> dict[str, Any] | None:
        """The open issue a new alert with this correlation id would be grouped into."""
        found = self.list_issues(
            channel_id=channel_id, status="open", correlation_id=correlation_id, limit=1
        )
        return found[0] if found else None

    def active_channels(self) -> list[dict[str, Any]]:
        """Channels with open issues, most recently active first."""
        last_activity = sa.func.max(issues.c.updated_at)
        query = (
            sa.select(
                issues.c.channel_id,
                sa.func.count().label("open_issues"),
                last_activity.label("last_activity"),
            )
            .where(issues.c.status == "open")
            .group_by(issues.c.channel_id)
            .order_by(last_activity.desc(), issues.c.channel_id)
        )
        with self._engine.connect() as conn:
            return [
                {
                    "channel_id": channel_id,
                    "open_issues": open_issues,
                    "last_activity": _iso(last),
                }
                for channel_id, open_issues, last in conn.execute(query).tuples()
            ]

    def count_issues(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(issues)).scalar_one())

    def count_by_status(self) -> dict[str, int]:
        """Issues per status, for the metrics endpoint."""
        query = sa.select(issues.c.status, sa.func.count()).group_by(issues.c.status)
        with self._engine.connect() as conn:
            return {str(status): int(count) for status, count in conn.execute(query)}


# Any fixed number; it names the lock alertfold's processes take while creating tables.
_SCHEMA_LOCK = 0x616C6572  # "aler"

_UPDATES = ", ".join(f"{name} = excluded.{name}" for name in ISSUE_COLUMNS if name != "id")


def _postgres_recordset_upsert(dialect: Dialect) -> str:
    """`INSERT … SELECT FROM jsonb_to_recordset(:rows) ON CONFLICT …` for a whole batch.

    psycopg's executemany sends one statement per row, a multi-row VALUES list is re-parsed
    by the driver on every batch, and array parameters are escaped element by element; one
    JSON document is none of these, which roughly doubles replay throughput.
    """
    names = ", ".join(ISSUE_COLUMNS)
    record = ", ".join(
        f"{column.name} {column.type.compile(dialect=dialect)}" for column in issues.columns
    )
    return (
        f"INSERT INTO issues ({names}) "
        f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record}) "
        f"ON CONFLICT (id) DO UPDATE SET {_UPDATES} "
        "WHERE issues.version < excluded.version RETURNING id"
    )


def _sqlite_values_upsert() -> str:
    """`INSERT … VALUES (?, …) ON CONFLICT …`, run by sqlite3's executemany on tuples."""
    names = ", ".join(ISSUE_COLUMNS)
    placeholders = ", ".join("?" for _ in ISSUE_COLUMNS)
    return (
        f"INSERT INTO issues ({names}) VALUES ({placeholders}) "
        f"ON CONFLICT (id) DO UPDATE SET {_UPDATES} "
        "WHERE issues.version < excluded.version"
    )


def _sqlite_parameters(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """An `issues` row as the positional parameters of `_sqlite_values_upsert`."""
    resolved_at = row["resolved_at"]
    return (
        row["id"],
        row["channel_id"],
        row["correlation_id"],
        row["status"],
        row["severity"],
        row["alert_count"],
        row["header"],
        row["text"],
        sqlite_timestamp(row["opened_at"]),
        sqlite_timestamp(row["updated_at"]),
        None if resolved_at is None else sqlite_timestamp(resolved_at),
        row["version"],
        row["last_event_type"],
        row["last_event_id"],
        row["snapshot"],
    )


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _iso(value: datetime | str | None) -> str | None:
    # Aggregates lose the column type on some backends; SQLite then hands back raw text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return iso_utc(value)
