"""The notifier's memory, in the lookup database: ledger, attempts and Kafka positions.

- The ledger has one row per (event, channel) the dispatcher decided to notify, written
  BEFORE anything is sent, in the same transaction as the consumed position. It is what
  makes delivery at most once per channel: a pair already in the ledger is never queued
  again, and after a restart only rows whose sending never started are picked up again
  (a row left `sending` by a crash may or may not have reached the receiver: it is marked
  `interrupted`, not retried).
- The attempt log has one row per attempt, for `GET /notification-log`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from domain.records import IssueEventRecord
from projections.lookup_tables import UTCDateTime
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
    """One notification to send: an event, the kind it means, and the channel."""

    channel_id: str
    kind: str
    event: IssueEventRecord


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

    def create_schema(self) -> None:
        with self._engine.begin() as conn:
            for table in _metadata.sorted_tables:
                conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
                for index in table.indexes:
                    conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

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
        """Write the intents not yet in the ledger and the positions; returns the new ones."""
        now = self._clock()
        fresh: list[Intent] = []
        with self._engine.begin() as conn:
            seq = conn.execute(sa.select(sa.func.max(ledger_table.c.seq))).scalar() or 0
            for intent in intents:
                key = (ledger_table.c.event_id == intent.event.event_id) & (
                    ledger_table.c.channel_id == intent.channel_id
                )
                if conn.execute(sa.select(ledger_table.c.state).where(key)).first():
                    continue
                seq += 1
                conn.execute(ledger_table.insert().values(**_ledger_row(intent, seq, now)))
                fresh.append(intent)
            for partition, offset in next_offsets.items():
                self._advance(conn, topic, partition, offset)
        return fresh

    def _advance(self, conn: sa.Connection, topic: str, partition: int, offset: int) -> None:
        where = (positions_table.c.topic == topic) & (positions_table.c.partition == partition)
        stored = conn.execute(sa.select(positions_table.c.next_offset).where(where)).scalar()
        if stored is None:
            conn.execute(
                positions_table.insert().values(
                    topic=topic, partition=partition, next_offset=offset
                )
            )
        elif offset > stored:
            conn.execute(positions_table.update().where(where).values(next_offset=offset))

    def resume(self) -> list[Intent]:
        """After a restart: the intents never started, in order; started ones are written off.

        A row left `sending` may have reached its receiver before the crash, so it is marked
        `interrupted` rather than sent again.
        """
        with self._engine.begin() as conn:
            conn.execute(
                ledger_table.update()
                .where(ledger_table.c.state == "sending")
                .values(state="interrupted", finished_at=self._clock())
            )
            rows = conn.execute(
                sa.select(ledger_table.c.channel_id, ledger_table.c.kind, ledger_table.c.event)
                .where(ledger_table.c.state == "pending")
                .order_by(ledger_table.c.seq)
            ).all()
        return [Intent(c, k, decode_issue_event(e)) for c, k, e in rows]

    # -- sending -------------------------------------------------------------------------

    def set_state(self, intent: Intent, state: LedgerState) -> None:
        finished = None if state in ("pending", "sending") else self._clock()
        key = (ledger_table.c.event_id == intent.event.event_id) & (
            ledger_table.c.channel_id == intent.channel_id
        )
        with self._engine.begin() as conn:
            conn.execute(ledger_table.update().where(key).values(state=state, finished_at=finished))

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


def _ledger_row(intent: Intent, seq: int, now: datetime) -> dict[str, Any]:
    return {
        "event_id": intent.event.event_id,
        "channel_id": intent.channel_id,
        "issue_id": intent.event.issue_id,
        "kind": intent.kind,
        "event": intent.event.model_dump_json(),
        "state": "pending",
        "seq": seq,
        "recorded_at": now,
        "finished_at": None,
    }
