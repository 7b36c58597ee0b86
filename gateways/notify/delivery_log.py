"""The notifier's memory, in the lookup database: ledger, attempts and Kafka positions.

- The ledger has one row per (event, channel) the dispatcher decided to notify, written
  BEFORE anything is sent, in the same transaction as the consumed position. It is what
  gives each (event, channel) one run of attempts, also with several notifiers (a receiver
  may still see an attempt twice when its answer was lost): a pair already in
  the ledger is never recorded again (of replicas recording it at once, one gets it), and a
  row is sent only by the replica whose claim moved it from `pending` to `sending`. The
  replica that reads a partition next (after a restart or a rebalance) takes over the rows
  of that partition whose sending never started; a row left `sending` by another process
  may or may not have reached the receiver: it is marked `interrupted`, not retried.
- The attempt log has one row per attempt, for `GET /notification-log`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain.records import IssueEventRecord
from projections.generations import lock_schema
from projections.lookup_tables import UTCDateTime
from projections.upserts import raise_offsets
from wire.issue_events import decode_issue_event

LedgerState = Literal["pending", "sending", "delivered", "failed", "dropped", "interrupted"]

_metadata = sa.MetaData()
ledger_table = sa.Table(
    "notification_ledger",
    _metadata,
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("channel_id", sa.String(64), primary_key=True),
    sa.Column("issue_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # queue order on restart
    # Of `issue-events`, for the replica that reads it next; NULL in rows from before.
    sa.Column("partition", sa.Integer, nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Index("ix_notification_ledger_state", "state", "seq"),
)
attempts_table = sa.Table(
    "notification_attempts",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("issue_id", sa.String(255), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_notification_attempts_channel_at", "channel_id", "at"),
    sa.Index("ix_notification_attempts_issue_at", "issue_id", "at"),
    sa.Index("ix_notification_attempts_at", "at"),
)
positions_table = sa.Table(
    "notification_positions",
    _metadata,
    sa.Column("topic", sa.String(255), primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Intent:
    """One notification to send: an event, the kind it means, the channel, and the
    partition of `issue-events` the event was read from (None if recorded before the ledger
    knew partitions)."""

    channel_id: str
    kind: str
    event: IssueEventRecord
    partition: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.event.event_id, self.channel_id)


@dataclass(frozen=True)
class Attempt:
    channel_id: str
    issue_id: str
    event_id: str
    kind: str
    attempt: int
    ok: bool
    status_code: int | None
    latency_ms: float
    error: str
    at: datetime


class DeliveryLog:
    """Ledger, attempts and positions; thread-safe, every method one transaction."""

    def __init__(
        self, engine: sa.Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def create_schema(self) -> None:
        """Create what is missing; notifiers and APIs starting together may all be doing it."""
        with self._engine.begin() as conn:
            lock_schema(conn)
            for table in _metadata.sorted_tables:
                conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
                for index in table.indexes:
                    conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
            columns = {column["name"] for column in sa.inspect(conn).get_columns(ledger_table.name)}
            if "partition" not in columns:  # a ledger made before rows knew their partition
                conn.execute(sa.text(f'ALTER TABLE {ledger_table.name} ADD COLUMN "partition" INT'))

    # -- consuming -----------------------------------------------------------------------

    def positions(self, topic: str) -> dict[int, int]:
        query = sa.select(positions_table.c.partition, positions_table.c.next_offset).where(
            positions_table.c.topic == topic
        )
        with self._engine.connect() as conn:
            return {int(p): int(o) for p, o in conn.execute(query)}

    def record_intents(
        self, topic: str, intents: Sequence[Intent], next_offsets: Mapping[int, int]
    ) -> list[Intent]:
        """Write the intents not yet in the ledger and the positions; returns the new ones.

        Two replicas recording the same pair at once (while partitions change hands) both
        insert it; the database keeps one row, and only the replica that wrote it gets it
        back. Rows are written in key order, so concurrent batches lock them in one order.
        """
        unique: dict[tuple[str, str], Intent] = {}
        for intent in intents:
            unique.setdefault(intent.key, intent)
        now = self._clock()
        recorded: set[tuple[str, str]] = set()
        with self._engine.begin() as conn:
            if unique:
                seq = conn.execute(sa.select(sa.func.max(ledger_table.c.seq))).scalar() or 0
                rows = sorted(
                    (_ledger_row(i, seq + n, now) for n, i in enumerate(unique.values(), 1)),
                    key=lambda row: (row["event_id"], row["channel_id"]),
                )
                insert = (
                    self._insert(ledger_table)
                    .on_conflict_do_nothing()
                    .returning(ledger_table.c.event_id, ledger_table.c.channel_id)
                )
                recorded = {(e, c) for e, c in conn.execute(insert, rows).tuples()}
            if next_offsets:
                self._advance(conn, topic, next_offsets)
        return [intent for key, intent in unique.items() if key in recorded]

    def _advance(self, conn: sa.Connection, topic: str, next_offsets: Mapping[int, int]) -> None:
        rows = [
            {"topic": topic, "partition": p, "next_offset": o}
            for p, o in sorted(next_offsets.items())
        ]
        raise_offsets(conn, positions_table, rows, "next_offset")

    def take_over(
        self, partitions: Collection[int], sending_here: Collection[tuple[str, str]] = ()
    ) -> list[Intent]:
        """The intents of these partitions whose sending never started, in order.

        For the replica that now reads the partitions (after a restart or a rebalance). Rows
        another process left `sending` (`sending_here` are this one's) may have reached their
        receiver: they are marked `interrupted`, not sent again. A replica still sending one
        when its partitions moved overwrites that mark with the outcome when it is done.
        Rows from before the ledger knew partitions go to whoever comes first.
        """
        ledger = ledger_table
        theirs = ledger.c.partition.in_(sorted(partitions)) | ledger.c.partition.is_(None)
        with self._engine.begin() as conn:
            conn.execute(
                ledger.update()
                .where(
                    theirs,
                    ledger.c.state == "sending",
                    sa.tuple_(ledger.c.event_id, ledger.c.channel_id).not_in(list(sending_here)),
                )
                .values(state="interrupted", finished_at=self._clock())
            )
            rows = conn.execute(
                sa.select(ledger.c.channel_id, ledger.c.kind, ledger.c.event, ledger.c.partition)
                .where(theirs, ledger.c.state == "pending")
                .order_by(ledger.c.seq)
            ).all()
        return [Intent(c, k, decode_issue_event(e), p) for c, k, e, p in rows]

    # -- sending -------------------------------------------------------------------------

    def claim(self, intent: Intent) -> bool:
        """Move the intent from `pending` to `sending`: True for the one replica that did."""
        with self._engine.begin() as conn:
            claimed = conn.execute(
                ledger_table.update()
                .where(_key(intent), ledger_table.c.state == "pending")
                .values(state="sending")
            )
        return claimed.rowcount == 1

    def set_state(self, intent: Intent, state: LedgerState) -> None:
        finished = None if state in ("pending", "sending") else self._clock()
        with self._engine.begin() as conn:
            conn.execute(
                ledger_table.update().where(_key(intent)).values(state=state, finished_at=finished)
            )

    def record_attempt(self, attempt: Attempt) -> None:
        with self._engine.begin() as conn:
            conn.execute(attempts_table.insert().values(**attempt.__dict__))

    # -- reading -------------------------------------------------------------------------

    def state(self, event_id: str, channel_id: str) -> LedgerState | None:
        key = (ledger_table.c.event_id == event_id) & (ledger_table.c.channel_id == channel_id)
        with self._engine.connect() as conn:
            state = conn.execute(sa.select(ledger_table.c.state).where(key)).scalar()
        return state

    def attempts(
        self,
        *,
        channel_id: str | None = None,
        issue_id: str | None = None,
        ok: bool | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Attempts, newest first, filtered by every argument given."""
        table = attempts_table
        query = sa.select(*(c for c in table.columns if c.name != "id"))
        if channel_id is not None:
            query = query.where(table.c.channel_id == channel_id)
        if issue_id is not None:
            query = query.where(table.c.issue_id == issue_id)
        if ok is not None:
            query = query.where(table.c.ok == ok)
        if since is not None:
            query = query.where(table.c.at >= since)
        query = query.order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def _key(intent: Intent) -> sa.ColumnElement[bool]:
    return (ledger_table.c.event_id == intent.event.event_id) & (
        ledger_table.c.channel_id == intent.channel_id
    )


def _ledger_row(intent: Intent, seq: int, now: datetime) -> dict[str, Any]:
    return {
        "event_id": intent.event.event_id,
        "channel_id": intent.channel_id,
        "issue_id": intent.event.issue_id,
        "kind": intent.kind,
        "event": intent.event.model_dump_json(),
        "state": "pending",
        "seq": seq,
        "partition": intent.partition,
        "recorded_at": now,
        "finished_at": None,
    }
