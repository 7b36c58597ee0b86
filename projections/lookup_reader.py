"""The API's reads of the lookup view: few layers between a request and its answer.

Each issue row holds its view as JSON text (`snapshot`), so a page is the stored texts joined
into one document, with no parsing or serialising per request. Statements are plain SQL
(`projections.lookup_queries`) run on a driver connection of the calling thread, opened once
and kept, in autocommit so every statement sees the latest commit. The live generation is
remembered for a second instead of being asked for on every request; a query that fails
(a replay has just dropped the old generation's tables, or the database restarted) is run
once more on a fresh connection and the generation live then.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa

from projections.generations import GenerationRegistry
from projections.lookup_queries import (
    Dialect,
    IssueQuery,
    counts_document,
    counts_statement,
    page_statement,
)
from projections.lookup_store import READ_MODEL
from projections.lookup_tables import lookup_tables

T = TypeVar("T")

GENERATION_TTL_S = 1.0
# Counts over many channels scan every matching issue; such an answer is kept until the
# view changes (or this long, for what changes the view without moving its positions:
# retention).
COUNTS_TTL_S = 5.0
_COUNTS_KEPT = 256


class LookupReader:
    """Thread-safe: every thread gets its own connection."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._dialect = Dialect(engine.dialect.name)
        self._registry = GenerationRegistry(READ_MODEL)
        self._local = threading.local()
        self._clock = clock
        self._generation: tuple[int, float] | None = None
        self._counts: OrderedDict[tuple[Any, ...], tuple[int, float, bytes]] = OrderedDict()
        self._statements: dict[tuple[str, int], str] = {}
        self._partition = engine.dialect.identifier_preparer.quote("partition")

    # -- answers -------------------------------------------------------------------------

    def issue(self, issue_id: str) -> bytes | None:
        """One issue's view, as JSON."""

        def query(cursor: Any, generation: int) -> bytes | None:
            cursor.execute(self._by_id(generation), (issue_id,))
            row = cursor.fetchone()
            return None if row is None else _bytes(row[0])

        return self._run(query)

    def page(self, query: IssueQuery) -> bytes:
        """`{"issues": [...], "count", "limit", "offset", "next_cursor"}` as JSON."""

        def run(cursor: Any, generation: int) -> bytes:
            sql, params = page_statement(query, self._dialect, _issues(generation))
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            following = query.next_cursor(rows[-1][0], rows[-1][1]) if more else None
            tail = orjson.dumps(
                {
                    "count": len(rows),
                    "limit": query.limit,
                    "offset": query.offset,
                    "next_cursor": following,
                }
            )
            return b'{"issues":[' + b",".join(_bytes(r[2]) for r in rows) + b"]," + tail[1:]

        return self._run(run)

    def counts(self, query: IssueQuery) -> bytes:
        """`GET /issues/counts`'s JSON (`projections.lookup_queries.counts_document`)."""
        key = (
            query.channel_id,
            query.statuses,
            query.severities,
            query.correlation_id,
            query.slack_ts,
            query.text,
            query.matchers,
            query.since,
            query.until,
        )

        # Counts of one channel's or one correlation id's issues read a few index entries:
        # asking whether the view changed would cost as much as counting again.
        narrow = query.channel_id is not None or query.correlation_id is not None

        def count(cursor: Any, generation: int) -> bytes:
            sql, params = counts_statement(query, self._dialect, _issues(generation))
            cursor.execute(sql, params)
            return orjson.dumps(counts_document(cursor.fetchall()))

        def run(cursor: Any, generation: int) -> bytes:
            if narrow:
                return count(cursor, generation)
            stamp = self._stamp(cursor, generation)
            kept = self._counts.get(key)
            now = self._clock()
            if kept is not None and kept[0] == stamp and now - kept[1] < COUNTS_TTL_S:
                return kept[2]
            answer = count(cursor, generation)
            self._counts[key] = (stamp, now, answer)
            self._counts.move_to_end(key)
            while len(self._counts) > _COUNTS_KEPT:
                self._counts.popitem(last=False)
            return answer

        return self._run(run)

    def folded(self, topic: str) -> dict[int, int]:
        """How far the view has folded each partition of an input topic (next offset)."""

        def run(cursor: Any, generation: int) -> dict[int, int]:
            table = lookup_tables(generation).folded.name
            p = self._dialect.placeholder
            cursor.execute(
                f"SELECT {self._partition}, next_offset FROM {table} WHERE topic = {p}", (topic,)
            )
            return {int(partition): int(offset) for partition, offset in cursor.fetchall()}

        return self._run(run)

    # -- plumbing ------------------------------------------------------------------------

    def _by_id(self, generation: int) -> str:
        key = ("by_id", generation)
        sql = self._statements.get(key)
        if sql is None:
            p = self._dialect.placeholder
            sql = f"SELECT snapshot FROM {_issues(generation)} WHERE id = {p}"
            self._statements[key] = sql
        return sql

    def _stamp(self, cursor: Any, generation: int) -> int:
        """A number that changes whenever the projector commits a batch."""
        table = lookup_tables(generation).positions.name
        cursor.execute(f"SELECT COALESCE(SUM(next_offset), 0) FROM {table}")
        return int(cursor.fetchone()[0])

    def _run(self, work: Callable[[Any, int], T]) -> T:
        try:
            return self._attempt(work)
        except Exception:
            # A replay may have switched generations and dropped the tables just read, or
            # the database restarted under the connection: once more, afresh.
            self._generation = None
            self._forget_connection()
            return self._attempt(work)

    def _attempt(self, work: Callable[[Any, int], T]) -> T:
        generation = self._live_generation()
        cursor = self._connection().cursor()
        try:
            return work(cursor, generation)
        finally:
            cursor.close()

    def _live_generation(self) -> int:
        known = self._generation
        now = self._clock()
        if known is not None and now - known[1] < GENERATION_TTL_S:
            return known[0]
        with self._engine.connect() as conn:
            live = self._registry.state(conn).live
        self._generation = (live, now)
        return live

    def _forget_connection(self) -> None:
        pooled = getattr(self._local, "pooled", None)
        self._local.pooled = None
        if pooled is not None:
            pooled.invalidate()

    def _connection(self) -> Any:
        # The pool's wrapper is kept too: dropping it would hand the connection back.
        pooled = getattr(self._local, "pooled", None)
        if pooled is None:
            pooled = self._engine.raw_connection()
            _autocommit(pooled.dbapi_connection, self._dialect.name)
            self._local.pooled = pooled
        return pooled.dbapi_connection


def _issues(generation: int) -> str:
    return lookup_tables(generation).issues.name


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _autocommit(connection: Any, dialect: str) -> None:
    if dialect == "sqlite":
        connection.isolation_level = None
    elif dialect == "postgresql":
        connection.autocommit = True
    else:
        connection.autocommit(True)
