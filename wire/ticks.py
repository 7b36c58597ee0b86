"""The `ticks` topic's value format: `{"type": "tick", "schema_version": 1, "at": "…Z"}`.

A tick carries its own time, so folding it again (after a crash, or in `alertfold verify`)
judges the deadlines against the same instant; the record's Kafka timestamp is not used.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from wire.envelope import UndecodableInput, open_envelope

TICK_SCHEMA_VERSION = 1


def encode_tick(at: datetime) -> bytes:
    if at.tzinfo is None:
        raise ValueError("a tick's time must be timezone-aware")
    body = {"type": "tick", "schema_version": TICK_SCHEMA_VERSION, "at": at.astimezone(UTC)}
    return json.dumps(body, default=datetime.isoformat, separators=(",", ":")).encode()


def decode_tick(raw: bytes | None) -> datetime:
    """The tick's time, or `UndecodableInput` (dead-lettered like a bad alert) saying why."""
    fields = open_envelope(raw, "tick", TICK_SCHEMA_VERSION)
    try:
        at = datetime.fromisoformat(str(fields.get("at")))
    except ValueError:
        raise UndecodableInput('tick "at" is not an RFC 3339 timestamp') from None
    if at.tzinfo is None:
        raise UndecodableInput('tick "at" has no time zone')
    return at.astimezone(UTC)
