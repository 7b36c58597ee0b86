"""Database engines for the read models: SQLite by default, PostgreSQL or MySQL in production.

All are reached through one function so every component (projections, API, replay tools)
gets the same connection settings: SQLite tuned for one writer beside concurrent readers
(WAL, a busy timeout instead of immediate "database is locked" errors, and a `regexp`
function for label matchers), PostgreSQL through psycopg 3 and MySQL or MariaDB through
PyMySQL, both with dead pooled connections detected before use.
"""

from __future__ import annotations

import re
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
MYSQL_SCHEMES = frozenset({"mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"})
ACCEPTED_FORMS = (
    "use sqlite:///path/to/file.db, postgresql://user:password@host:port/database "
    "or mysql://user:password@host:port/database"
)


def create_database_engine(url: str) -> sa.Engine:
    """Build an engine for `sqlite:///path`, `postgresql://…` (also `postgres://…`) or
    `mysql://…` (also `mariadb://…`, with or without `+pymysql`).

    Raises `ValueError` for any other scheme or driver, naming the accepted forms, so a
    mistyped setting fails at start-up rather than on the first query.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"invalid database URL {url!r}: {exc}") from exc
    scheme = parsed.drivername
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return _sqlite_engine(parsed)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_engine(parsed)
    if scheme in MYSQL_SCHEMES:
        return _mysql_engine(parsed)
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} in "
        f"{parsed.render_as_string(hide_password=True)!r}: {ACCEPTED_FORMS}"
    )


def database_reachable(engine: sa.Engine) -> tuple[bool, str]:
    """Run `SELECT 1` for a health check; reports failure instead of raising."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1")).scalar_one()
    except Exception as exc:
        detail = " ".join(str(exc).split())
        if len(detail) > 300:
            detail = detail[:297] + "..."
        return False, f"{engine.dialect.name} unreachable: {type(exc).__name__}: {detail}"
    return True, f"{engine.dialect.name} ok"


def _sqlite_engine(url: URL) -> sa.Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {}
    if in_memory:
        # One shared connection: every pooled connection would otherwise see its own
        # empty in-memory database.
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    elif not url.query.get("uri"):
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = url.set(database=str(path))
    engine = sa.create_engine(url.set(drivername="sqlite+pysqlite"), **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
        add_regexp(dbapi_connection)

    return engine


def add_regexp(connection: sqlite3.Connection) -> None:
    """`x REGEXP pattern` for SQLite, which has the operator but no function behind it."""
    connection.create_function("regexp", 2, _regexp, deterministic=True)


def _regexp(pattern: str | None, value: str | None) -> bool:
    if pattern is None or value is None:
        return False
    return _compiled(pattern).search(value) is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a file database to WAL, waiting out another process doing the same.

    Changing the journal mode needs an exclusive lock and SQLite does not call the busy
    handler for it, so when the API and the projector open a new file at the same moment
    one of them gets "database is locked" at once. Once the file is in WAL mode (it stays
    so) the statement no longer needs the lock.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _postgres_engine(url: URL) -> sa.Engine:
    url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # Without it, a health check against an unreachable host hangs on TCP timeouts.
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _mysql_engine(url: URL) -> sa.Engine:
    dialect = "mariadb" if url.drivername.startswith("mariadb") else "mysql"
    url = url.set(drivername=f"{dialect}+pymysql")
    if "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    connect_args: dict[str, Any] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    # Connections idle past the server's wait_timeout are closed by it: recycle before.
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
        connect_args=connect_args,
    )
