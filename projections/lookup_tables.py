"""The lookup view's tables, one set per generation, and the SQL that writes them in bulk.

Each generation has its own tables (`issues_g3`, `projection_positions_g3`) rather than a
generation column in shared tables, because:
- dropping a replaced generation is `DROP TABLE`: instant, and the space is returned at
  once, where deleting millions of rows would bloat PostgreSQL and lock SQLite for long;
- a replay's bulk writes land in tables and indexes the live view does not use, so the
  view being served does not slow down or grow while a replay runs;
- a replay can build a generation with a newer layout (new columns or indexes) and switch
  to it: replay doubles as the read model's migration.
The positions live in the generation too, so a generation and the offsets it was built to
are created, switched and dropped together.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from projections.lookup import ISSUE_COLUMNS, as_utc, upgraded_row


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An instant stored in UTC and always read back as an aware UTC datetime.

    PostgreSQL keeps it in a `timestamptz`, MySQL in a `DATETIME(6)` holding UTC. SQLite
    has no time type: it is stored as fixed-width ISO 8601 text in UTC (`sqlite_timestamp`),
    which sorts chronologically and which the bulk writer below produces without going
    through SQLAlchemy.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(len("2024-01-01T00:00:00.000000Z")))
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return database_time(value, dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value))
        return as_utc(value)


def sqlite_timestamp(value: datetime) -> str:
    """The text SQLite columns hold for an instant: UTC, microseconds always present."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def database_time(value: datetime, dialect: str) -> Any:
    """An instant as the driver of `dialect` takes it for a `UTCDateTime` column."""
    if dialect == "sqlite":
        return sqlite_timestamp(value)
    if dialect in ("mysql", "mariadb"):
        return as_utc(value).replace(tzinfo=None)
    return as_utc(value)


# MySQL needs a length for every indexed string and a long type for big texts; the other
# databases keep the unbounded types.
def key_string(length: int = 255) -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(length), "mysql", "mariadb")


def long_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


# Byte-wise comparison on MySQL, as on the other databases (its default collation would
# find `c123` equal to `C123`).
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mariadb_charset": "utf8mb4",
    "mariadb_collate": "utf8mb4_bin",
}


@dataclass(frozen=True)
class LookupTables:
    """The tables of one generation of the lookup view."""

    generation: int
    metadata: sa.MetaData
    issues: sa.Table
    positions: sa.Table
    folded: sa.Table
    moves: sa.Table


@functools.cache
def lookup_tables(generation: int) -> LookupTables:
    """The tables of `generation` (built once per process, never bound to a database)."""
    suffix = f"_g{generation}"
    metadata = sa.MetaData()
    issues = sa.Table(
        f"issues{suffix}",
        metadata,
        sa.Column("id", key_string(), primary_key=True),
        sa.Column("channel_id", key_string(80), nullable=False),
        sa.Column("correlation_id", key_string(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("alert_count", sa.Integer, nullable=False),
        sa.Column("header", long_text(), nullable=False),
        sa.Column("text", long_text(), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_event_type", key_string(), nullable=False),
        sa.Column("last_event_id", key_string(), nullable=False),
        sa.Column("snapshot", long_text(), nullable=False),
        # Null once retention stripped the alert body from the snapshot.
        sa.Column("last_alert_at", UTCDateTime, nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("search_text", long_text(), nullable=False),
        sa.Column("labels", long_text(), nullable=False),
        sa.Column("severity_rank", sa.Integer, nullable=False),
        sa.Column("acknowledged", sa.Integer, nullable=False),
        sa.Index(f"ix_issues{suffix}_channel_status", "channel_id", "status"),
        # The id breaks ties in every order the views sort by: in the index, no sort is left.
        sa.Index(f"ix_issues{suffix}_channel_updated_id", "channel_id", "updated_at", "id"),
        sa.Index(f"ix_issues{suffix}_channel_correlation", "channel_id", "correlation_id"),
        # `?correlation_id=` without a channel ("where did my alert go?").
        sa.Index(f"ix_issues{suffix}_correlation", "correlation_id"),
        sa.Index(f"ix_issues{suffix}_status_updated_at", "status", "updated_at"),
        sa.Index(f"ix_issues{suffix}_updated_id", "updated_at", "id"),
        sa.Index(f"ix_issues{suffix}_opened_id", "opened_at", "id"),
        sa.Index(f"ix_issues{suffix}_last_alert_at", "last_alert_at"),
        sa.Index(f"ix_issues{suffix}_channel_slack_ts", "channel_id", "slack_ts"),
        **MYSQL_TABLE_OPTIONS,
    )
    positions = sa.Table(
        f"projection_positions{suffix}",
        metadata,
        sa.Column("projection", key_string(100), primary_key=True),
        sa.Column("topic", key_string(), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        **MYSQL_TABLE_OPTIONS,
    )
    # How far the view has folded each input partition (topic, partition → next offset),
    # from the events' causes and `folded_before` marks: what read-your-own-writes waits on.
    folded = sa.Table(
        f"folded_inputs{suffix}",
        metadata,
        sa.Column("topic", key_string(), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        **MYSQL_TABLE_OPTIONS,
    )
    moves = sa.Table(
        f"move_mappings{suffix}",
        metadata,
        sa.Column("channel_id", key_string(80), primary_key=True),
        sa.Column("correlation_id", key_string(500), primary_key=True),
        sa.Column("target_channel_id", key_string(80), nullable=False),
        sa.Column("reason", long_text(), nullable=False),
        sa.Column("issue_id", key_string(), nullable=False),
        sa.Column("moved_at", UTCDateTime, nullable=False),
        sa.Column("moved_by", long_text(), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        **MYSQL_TABLE_OPTIONS,
    )
    assert tuple(c.name for c in issues.columns) == ISSUE_COLUMNS
    return LookupTables(generation, metadata, issues, positions, folded, moves)


def create_tables(conn: sa.Connection, tables: LookupTables) -> list[str]:
    """Create a generation's tables and indexes that do not exist yet (`IF NOT EXISTS`).

    A table made by an earlier layout gets the columns it lacks (nullable, to be filled by
    the caller); returns their names.
    """
    added: list[str] = []
    for table in tables.metadata.sorted_tables:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
                added.append(column.name)
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
    return added


def upgrade_rows(conn: sa.Connection, issues: sa.Table) -> None:
    """Rewrite every row of a table an earlier layout made (`upgraded_row`), in batches."""
    key = issues.c.id
    last = ""
    while True:
        batch = (
            conn.execute(sa.select(issues).where(key > last).order_by(key).limit(1000))
            .mappings()
            .all()
        )
        if not batch:
            return
        rows = [upgraded_row(dict(row)) for row in batch]
        conn.execute(
            issues.update().where(key == sa.bindparam("b_id")),
            [{"b_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in rows],
        )
        last = batch[-1]["id"]


def drop_tables(conn: sa.Connection, tables: LookupTables) -> None:
    for table in reversed(tables.metadata.sorted_tables):
        conn.execute(sa.schema.DropTable(table, if_exists=True))


def _updates() -> str:
    return ", ".join(f"{name} = excluded.{name}" for name in ISSUE_COLUMNS if name != "id")


def postgres_recordset_upsert(tables: LookupTables, dialect: Dialect) -> str:
    """`INSERT … SELECT FROM jsonb_to_recordset(:rows) ON CONFLICT …` for a whole batch.

    psycopg's executemany sends one statement per row, a multi-row VALUES list is re-parsed
    by the driver on every batch, and array parameters are escaped element by element; one
    JSON document is none of these, which roughly doubles replay throughput. The final
    `WHERE` is `should_apply` in SQL: a row only ever moves to a newer issue version.
    """
    table = tables.issues.name
    names = ", ".join(ISSUE_COLUMNS)
    record = ", ".join(
        f"{column.name} {column.type.compile(dialect=dialect)}" for column in tables.issues.columns
    )
    return (
        f"INSERT INTO {table} ({names}) "
        f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record}) "
        f"ON CONFLICT (id) DO UPDATE SET {_updates()} "
        f"WHERE {table}.version < excluded.version RETURNING id"
    )


def sqlite_values_upsert(tables: LookupTables) -> str:
    """`INSERT … VALUES (?, …) ON CONFLICT …`, run by sqlite3's executemany on tuples."""
    table = tables.issues.name
    names = ", ".join(ISSUE_COLUMNS)
    placeholders = ", ".join("?" for _ in ISSUE_COLUMNS)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) "
        f"ON CONFLICT (id) DO UPDATE SET {_updates()} "
        f"WHERE {table}.version < excluded.version"
    )


def mysql_values_upsert(tables: LookupTables) -> str:
    """`INSERT … VALUES (%s, …) ON DUPLICATE KEY UPDATE …`, which PyMySQL's executemany
    sends as one multi-row statement. MySQL assigns left to right, so `version` goes last:
    every other column compares against the stored version before it changes."""
    table = tables.issues.name
    names = ", ".join(ISSUE_COLUMNS)
    placeholders = ", ".join("%s" for _ in ISSUE_COLUMNS)
    newer = "version < VALUES(version)"
    updates = ", ".join(
        f"{name} = IF({newer}, VALUES({name}), {name})"
        for name in ISSUE_COLUMNS
        if name not in ("id", "version")
    )
    return (
        f"INSERT INTO {table} ({names}) VALUES ({placeholders}) "
        f"ON DUPLICATE KEY UPDATE {updates}, version = GREATEST(version, VALUES(version))"
    )


def row_parameters(row: Mapping[str, Any], dialect: str) -> tuple[Any, ...]:
    """An `issues` row as the positional parameters of the SQLite or MySQL upsert."""
    values = [row[name] for name in ISSUE_COLUMNS]
    for position in _TIME_POSITIONS:
        if values[position] is not None:
            values[position] = database_time(values[position], dialect)
    return tuple(values)


# Where `row_parameters` finds the `UTCDateTime` columns of a row.
_TIME_POSITIONS = tuple(
    ISSUE_COLUMNS.index(name)
    for name in ("opened_at", "updated_at", "resolved_at", "last_alert_at")
)
