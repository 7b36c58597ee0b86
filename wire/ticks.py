"""The `ticks` topic's value format: `{"type": "tick", "schema_version": 1, "at": "…Z"}`,
with the worker's alerting settings when any is on: `"reminder_interval_seconds": 1800`,
`"deduplication_window_seconds": 300`, and the channels with their own reminder interval,
`"channel_reminder_interval_seconds": {"C0123456789": 900, "C0456789ABC": 0}` (0: none there;
see `domain.alerting`). What is off or empty is left out, so a tick stays small.

A tick carries its own time, so folding it again (after a crash, or in `alertfold verify`)
judges the deadlines against the same instant; the record's Kafka timestamp is not used. It
carries the settings for the same reason: a re-fold decides with the values the live fold
had. A tick without them (written before they existed, or by another clock) means all off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from domain.alerting import OFF, AlertingSettings
from wire.envelope import UndecodableInput, open_envelope

TICK_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Tick:
    at: datetime
    settings: AlertingSettings = OFF


def encode_tick(at: datetime, settings: AlertingSettings = OFF) -> bytes:
    if at.tzinfo is None:
        raise ValueError("a tick's time must be timezone-aware")
    body = {
        "type": "tick",
        "schema_version": TICK_SCHEMA_VERSION,
        "at": at.astimezone(UTC),
        **settings.model_dump(exclude_defaults=True),
    }
    return json.dumps(body, default=datetime.isoformat, separators=(",", ":")).encode()


def decode_tick(raw: bytes | None) -> Tick:
    """The tick, or `UndecodableInput` (dead-lettered like a bad alert) saying why."""
    fields = open_envelope(raw, "tick", TICK_SCHEMA_VERSION)
    try:
        at = datetime.fromisoformat(str(fields.pop("at", None)))
    except ValueError:
        raise UndecodableInput('tick "at" is not an RFC 3339 timestamp') from None
    if at.tzinfo is None:
        raise UndecodableInput('tick "at" has no time zone')
    try:
        settings = AlertingSettings.model_validate(fields, strict=True)
    except ValidationError as error:
        reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UndecodableInput(f"tick settings are invalid: {reason}") from None
    return Tick(at.astimezone(UTC), settings)
