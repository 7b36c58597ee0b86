"""The audit store: every issue event, kept in SQL tables of its own.

Each record read from `issue-events` is stored as one row per issue version, carrying the
whole wire record with the issue's state after it; the tracking positions of the consumer
go in the same transaction. `AuditedIssue` rebuilds an issue at any version from its row.
A batch is written in bulk (one multi-row insert per table, one transaction per batch),
which is what lets `alertfold replay` record tens of thousands of events a second; the
`eventsourcing` library's recorder saves one aggregate at a time.

Rules for what arrives (the log is at-least-once, so it holds duplicates after crashes):
- a version already recorded with the same `event_id` is a duplicate: nothing happens;
- a version already recorded with a *different* `event_id` is a conflict (two decisions
  for one version: a bug upstream). The first one recorded stays, the other is counted in
  `conflicts` and logged, and consuming goes on: an audit must not stall on a bad record;
- a version may arrive before its predecessors, or never (an issue moved to another channel
  continues on another partition, read in another order). It is recorded at its own
  version anyway, since each event carries the issue's full state; a late predecessor
  fills its slot when it comes. Queries for a version that is not there say so.

Positions are tracked per partition as the next offset to read. A partition whose stored
position is already past a batch's (a replay after a restart, or another auditor got there
first) is left alone, its events included.

The store exists in generations like the lookup view (`projections.audit_generations`):
generation N keeps its events in its own tables (`audit_events_gN`, `audit_positions_gN`)
so `alertfold replay` can build a new one beside the live one. A store opened with `follow`
moves to the live generation when a replay switched it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from domain.records import IssueEventRecord
from infra.database import create_database_engine
from projections.audit_history import HistoryEntry, history_entry, iso_z
from projections.audited_issue import AuditedIssue
from projections.issue_event_reading import Record, batch_positions
from projections.lookup import issue_row, issue_view
from projections.lookup_tables import MYSQL_TABLE_OPTIONS, key_string, long_text
from projections.upserts import insert_tuples_ignoring_duplicates, raise_offsets

log = logging.getLogger(__name__)


class AuditQueryError(LookupError):
    """A question the audit cannot answer; the message says why, for people to act on."""


class UnknownIssue(AuditQueryError):
    pass


class VersionNotFound(AuditQueryError):
    pass


class BeforeOpening(AuditQueryError):
    pass


@dataclass(frozen=True)
class AuditTables:
    """The tables of one generation of the audit store."""

    generation: int
    metadata: sa.MetaData
    events: sa.Table
    positions: sa.Table

    # The queries every batch of the auditor runs, built once (SQLAlchemy then reuses their
    # compiled form): building them again each time cost more than running them.

    @functools.cached_property
    def stored_positions(self) -> sa.Select[tuple[int, int]]:
        """A reader's positions; binds `projection` and `topic`."""
        table = self.positions
        return sa.select(table.c.partition, table.c.next_offset).where(
            table.c.projection == sa.bindparam("projection"),
            table.c.topic == sa.bindparam("topic"),
        )

    @functools.cached_property
    def recorded_versions(self) -> sa.Select[tuple[str, int, str]]:
        """Which event each issue version is recorded as; binds `issue_ids` and `lowest`."""
        table = self.events
        return sa.select(table.c.issue_id, table.c.version, table.c.event_id).where(
            table.c.issue_id.in_(sa.bindparam("issue_ids", expanding=True)),
            table.c.version >= sa.bindparam("lowest"),
        )


@functools.cache
def audit_tables(generation: int) -> AuditTables:
    metadata = sa.MetaData()
    events = sa.Table(
        f"audit_events_g{generation}",
        metadata,
        sa.Column("issue_id", key_string(), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event_id", key_string(), nullable=False),
        sa.Column("record", long_text(), nullable=False),  # the wire record, JSON
        **MYSQL_TABLE_OPTIONS,
    )
    positions = sa.Table(
        f"audit_positions_g{generation}",
        metadata,
        sa.Column("projection", key_string(100), primary_key=True),
        sa.Column("topic", key_string(), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        **MYSQL_TABLE_OPTIONS,
    )
    return AuditTables(generation, metadata, events, positions)


def create_audit_tables(engine: sa.Engine, generation: int) -> None:
    """Create a generation's tables if missing (several processes may do it at once)."""
    with engine.begin() as conn:
        for table in audit_tables(generation).metadata.sorted_tables:
            conn.execute(sa.schema.CreateTable(table, if_not_exists=True))


def drop_audit_tables(engine: sa.Engine, generation: int) -> None:
    with engine.begin() as conn:
        for table in audit_tables(generation).metadata.sorted_tables:
            conn.execute(sa.schema.DropTable(table, if_exists=True))


class AuditStore:
    """Records issue events (for the projector) and answers history questions (for people).

    Thread-safe: it holds an engine and the generation it writes.
    """

    def __init__(
        self,
        database_url: str,
        generation: int = 1,
        *,
        follow: Callable[[], int] | None = None,
    ) -> None:
        self._engine = create_database_engine(database_url)
        self._follow = follow  # the live generation, when this store serves the live one
        self.generation = generation
        create_audit_tables(self._engine, generation)
        self.conflicts = 0

    @classmethod
    def open(
        cls, database_url: str, generation: int = 1, *, follow: Callable[[], int] | None = None
    ) -> AuditStore:
        """The store in `database_url` at `generation`, its tables created if missing."""
        return cls(database_url, generation, follow=follow)

    @property
    def _tables(self) -> AuditTables:
        return audit_tables(self.generation)

    def follow_live(self) -> bool:
        """Move to the live generation if a replay switched it; True when it moved."""
        if self._follow is None:
            return False
        live = self._follow()
        if live == self.generation:
            return False
        create_audit_tables(self._engine, live)
        self.generation = live
        log.info("audit store: following the switch to generation %d", live)
        return True

    def close(self) -> None:
        self._engine.dispose()

    def count_events(self) -> int:
        """How many issue events this generation holds."""
        with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(self._tables.events)
            return int(conn.execute(query).scalar_one())

    # -- writing (the projector's side) -----------------------------------------------------

    def positions(self, projection: str, topic: str, partitions: Collection[int]) -> dict[int, int]:
        """Partition → next offset to consume, for the given partitions that have one."""
        bound = {"projection": projection, "topic": topic}
        with self._engine.connect() as conn:
            stored = dict(conn.execute(self._tables.stored_positions, bound).tuples().all())
        return {p: stored[p] for p in sorted(partitions) if p in stored}

    def apply_batch(
        self,
        projection: str,
        topic: str,
        records: Sequence[Record],
        *,
        next_offsets: Mapping[int, int] | None = None,
    ) -> int:
        """Record the events, each as the text it was read as, and advance positions, in one
        transaction; returns how many events were stored.

        Each partition's next offset becomes the highest record offset + 1, or the value in
        `next_offsets` when further.
        """
        positions = batch_positions(records, next_offsets or {})
        if not positions:
            return 0
        tables = self._tables
        with self._engine.begin() as conn:
            stored = self._stored_positions(conn, tables, projection, topic)
            moving = {p: n for p, n in positions.items() if n > stored.get(p, 0)}
            arriving = sorted(
                (r for r in records if r.partition in moving), key=lambda r: r.partition
            )
            new = self._new_records(conn, tables, arriving)
            insert_tuples_ignoring_duplicates(
                conn, tables.events, _EVENT_COLUMNS, [_event_row(r) for r in new]
            )
            raise_offsets(
                conn,
                tables.positions,
                [
                    {"projection": projection, "topic": topic, "partition": p, "next_offset": n}
                    for p, n in sorted(moving.items())
                ],
                "next_offset",
            )
        return len(new)

    def _stored_positions(
        self, conn: sa.Connection, tables: AuditTables, projection: str, topic: str
    ) -> dict[int, int]:
        query = tables.stored_positions
        if conn.dialect.name == "postgresql":
            # Another auditor's batch waits for this one. Row locks would leave out the rows
            # of partitions not seen yet, and two batches then deadlock on them; MySQL's
            # FOR UPDATE also locks the gaps where such rows would go.
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"),
                {"key": _batch_lock(projection, topic)},
            )
        elif conn.dialect.name != "sqlite":
            query = query.with_for_update()
        bound = {"projection": projection, "topic": topic}
        return dict(conn.execute(query, bound).tuples().all())

    def _new_records(
        self, conn: sa.Connection, tables: AuditTables, records: list[Record]
    ) -> list[Record]:
        """The records whose issue version is not recorded yet (first of a batch wins)."""
        if not records:
            return []
        known: dict[tuple[str, int], str] = {}
        issue_ids = sorted({r.event.issue_id for r in records})
        lowest = min(r.event.version for r in records)
        for start in range(0, len(issue_ids), 500):
            bound = {"issue_ids": issue_ids[start : start + 500], "lowest": lowest}
            found = conn.execute(tables.recorded_versions, bound).tuples()
            known.update({(i, v): e for i, v, e in found})
        new: list[Record] = []
        for record in records:
            event = record.event
            recorded_id = known.get((event.issue_id, event.version))
            if recorded_id is None:
                known[(event.issue_id, event.version)] = event.event_id
                new.append(record)
            elif recorded_id != event.event_id:
                self.conflicts += 1
                log.warning(
                    "audit: issue %s version %d is recorded as event %s; ignoring a "
                    "different event %s (%s) for the same version",
                    event.issue_id,
                    event.version,
                    recorded_id,
                    event.event_id,
                    event.type,
                )
        return new

    # -- reading (people's side) -------------------------------------------------------------

    def events(self, issue_id: str) -> list[IssueEventRecord]:
        """Every recorded event of the issue, by version; `UnknownIssue` if there are none."""
        self.follow_live()
        table = self._tables.events
        query = sa.select(table.c.record).where(table.c.issue_id == issue_id)
        with self._engine.connect() as conn:
            records = conn.execute(query.order_by(table.c.version)).scalars().all()
        if not records:
            raise UnknownIssue(f"no issue with id {issue_id} in the audit store")
        return [IssueEventRecord.model_validate_json(record) for record in records]

    def history(self, issue_id: str) -> list[HistoryEntry]:
        return [history_entry(event) for event in self.events(issue_id)]

    def at_version(self, issue_id: str, version: int) -> AuditedIssue:
        """The issue as it was right after the event that made it `version`."""
        self.follow_live()
        table = self._tables.events
        query = sa.select(table.c.record).where(
            table.c.issue_id == issue_id, table.c.version == version
        )
        with self._engine.connect() as conn:
            record = conn.execute(query).scalar_one_or_none()
        if record is None:
            recorded = [e.version for e in self.events(issue_id)]
            raise VersionNotFound(
                f"issue {issue_id} has no version {version}: recorded versions are "
                f"{_ranges(recorded)}"
            )
        return AuditedIssue.of(IssueEventRecord.model_validate_json(record))

    def at_time(self, issue_id: str, moment: datetime) -> AuditedIssue:
        """The issue as it was at `moment`: after its last event that happened by then."""
        events = self.events(issue_id)
        then = [e for e in events if e.occurred_at <= moment]
        if not then:
            raise BeforeOpening(
                f"issue {issue_id} did not exist yet at {iso_z(moment)}: its first recorded "
                f"event is at {iso_z(events[0].occurred_at)}"
            )
        return self.at_version(issue_id, then[-1].version)


_EVENT_COLUMNS = ("issue_id", "version", "event_id", "record")


def _event_row(record: Record) -> tuple[str, int, str, str]:
    event = record.event
    return (event.issue_id, event.version, event.event_id, record.text)


def _ranges(versions: list[int]) -> str:
    """`[1, 2, 3, 5]` → `1-3, 5`: recorded versions, gaps visible."""
    spans: list[list[int]] = []
    for version in sorted(versions):
        if spans and version == spans[-1][1] + 1:
            spans[-1][1] = version
        else:
            spans.append([version, version])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def state_view(issue: AuditedIssue) -> dict[str, Any]:
    """The issue at a past version in the live view's JSON shape (`GET /issues/{id}`)."""
    return issue_view(issue_row(issue.event))


def _batch_lock(projection: str, topic: str) -> int:
    """The advisory lock key of one projection's batches from one topic: a signed 64-bit
    number, as PostgreSQL takes them."""
    digest = hashlib.blake2b(f"audit/{projection}/{topic}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
