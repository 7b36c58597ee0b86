"""Insert-or-update in the dialect of each database the read models live in.

SQLite and PostgreSQL say `INSERT … ON CONFLICT`, MySQL and MariaDB `INSERT … ON DUPLICATE
KEY UPDATE`; the read models' writers need three shapes of it, kept here once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})
SUPPORTED_DIALECTS = frozenset({"sqlite", "postgresql", *MYSQL_DIALECTS})


def is_mysql(conn_or_engine: sa.Connection | sa.Engine) -> bool:
    return conn_or_engine.dialect.name in MYSQL_DIALECTS


def raise_offsets(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], column: str
) -> None:
    """Insert rows, or move an existing row's `column` up to the new value, never down.

    Every batch a reader commits moves its positions, so the statement is written once per
    table and its plain values (strings and numbers: no column type processes them) go to
    the driver as they are: SQLAlchemy cannot cache SQLite's `ON CONFLICT` statements, and
    compiling one each time cost more than the database's work.
    """
    if not rows:
        return
    names = tuple(rows[0])
    statement = _raising(table, names, column, conn.dialect)
    conn.exec_driver_sql(statement, [tuple(row[name] for name in names) for row in rows])


@functools.lru_cache(maxsize=256)
def _raising(table: sa.Table, names: tuple[str, ...], column: str, dialect: sa.Dialect) -> str:
    insert = _insert(table, names, dialect)
    preparer = dialect.identifier_preparer
    target = preparer.quote(column)
    if dialect.name in MYSQL_DIALECTS:
        return f"{insert} ON DUPLICATE KEY UPDATE {target} = GREATEST({target}, VALUES({target}))"
    keys = ", ".join(preparer.quote(c.name) for c in table.primary_key.columns)
    name = preparer.format_table(table)
    return (
        f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {target} = excluded.{target} "
        f"WHERE {name}.{target} < excluded.{target}"
    )


def _insert(table: sa.Table, names: Sequence[str], dialect: sa.Dialect) -> str:
    """`INSERT INTO table (names) VALUES (…)` with the driver's positional placeholders."""
    quote = dialect.identifier_preparer.quote
    placeholder = "?" if dialect.name == "sqlite" else "%s"
    return (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join(placeholder for _ in names)})"
    )


def insert_ignoring_duplicates(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert rows; a row whose primary key exists already is left as it is."""
    if not rows:
        return
    if is_mysql(conn):
        conn.execute(table.insert().prefix_with("IGNORE"), list(rows))
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(dialect_insert(table).on_conflict_do_nothing(), list(rows))


def replace_if_newer(
    conn: sa.Connection, table: sa.Table, row: Mapping[str, Any], version: str = "version"
) -> None:
    """Insert the row, or replace the stored one when its `version` is lower."""
    keys = [c.name for c in table.primary_key.columns]
    if is_mysql(conn):
        insert = mysql.insert(table).values(dict(row))
        newer = table.c[version] < insert.inserted[version]
        # MySQL assigns left to right: the version goes last, or the test would see it new.
        updates: list[tuple[str, Any]] = [
            (name, sa.case((newer, insert.inserted[name]), else_=table.c[name]))
            for name in row
            if name not in keys and name != version
        ]
        updates.append((version, sa.func.greatest(table.c[version], insert.inserted[version])))
        conn.execute(insert.on_duplicate_key_update(updates))
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = dialect_insert(table).values(dict(row))
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=keys,
            set_={k: upsert.excluded[k] for k in row if k not in keys},
            where=table.c[version] < upsert.excluded[version],
        )
    )


def insert_tuples_ignoring_duplicates(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """`insert_ignoring_duplicates` for many rows of plain values, handed to the driver as
    they are: SQLAlchemy's processing of each row's parameters would cost more than the
    database's work (a replay inserts a million)."""
    if not rows:
        return
    conn.exec_driver_sql(_ignoring(table, tuple(columns), conn.dialect), list(rows))


@functools.lru_cache(maxsize=256)
def _ignoring(table: sa.Table, names: tuple[str, ...], dialect: sa.Dialect) -> str:
    insert = _insert(table, names, dialect)
    if dialect.name == "sqlite":
        return insert.replace("INSERT", "INSERT OR IGNORE", 1)
    if dialect.name in MYSQL_DIALECTS:
        return insert.replace("INSERT", "INSERT IGNORE", 1)
    return f"{insert} ON CONFLICT DO NOTHING"
