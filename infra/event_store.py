"""Configuration of the `eventsourcing` library's recorders from alertfold's database URLs.

The library reads its persistence settings (`PERSISTENCE_MODULE`, `SQLITE_DBNAME`,
`POSTGRES_*`) from an environment mapping, while alertfold has one `DATABASE_URL`; this
module translates the one into the other so both stores are configured the same way and a
mistyped URL fails at start-up with the accepted forms.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from infra.database import POSTGRES_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_MS

_POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})


def is_postgres_url(url: str) -> bool:
    try:
        return make_url(url).drivername in _POSTGRES_SCHEMES
    except ArgumentError:
        return False


def event_store_environment(url: str) -> dict[str, str]:
    """The library's settings for an event store in the database named by `url`.

    Issue ids are stored as text (`ORIGINATOR_ID_TYPE=text`): they are UUIDs today, but
    the wire contract only promises a string. A SQLite file's folder is created here, as
    `create_database_engine` does for the lookup view.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"invalid database URL {url!r}: {exc}") from exc
    common = {"ORIGINATOR_ID_TYPE": "text", "CREATE_TABLE": "y"}
    if parsed.drivername in _SQLITE_SCHEMES:
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise ValueError("the audit store needs a SQLite file, not an in-memory database")
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": str(SQLITE_BUSY_TIMEOUT_MS // 1000),
        }
    if parsed.drivername in _POSTGRES_SCHEMES:
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.database or "postgres",
            "POSTGRES_HOST": parsed.host or "localhost",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": parsed.username or "",
            "POSTGRES_PASSWORD": parsed.password or "",
            "POSTGRES_CONNECT_TIMEOUT": str(POSTGRES_CONNECT_TIMEOUT_S),
            "POSTGRES_PRE_PING": "y",
        }
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r} in "
        f"{parsed.render_as_string(hide_password=True)!r}: use sqlite:///path/to/file.db "
        "or postgresql://user:password@host:port/database"
    )
