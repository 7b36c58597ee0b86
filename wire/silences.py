"""Silences on `interactions`: `{"type": "silence", "schema_version": 1, "at", "silence"}`.

A silence concerns every channel, so the API writes one copy to every partition (key
`silence:<id>`), and each channel's actor folds it in order with its own inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.silences import Silence
from wire.envelope import open_envelope
from wire.interactions import dumps
from wire.validation import AT, validated

SILENCE_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SilenceSet:
    """A silence set (or re-set with an earlier end: expired) at `at`."""

    silence: Silence
    at: datetime


def encode_silence(silence: Silence, *, at: datetime) -> bytes:
    return dumps(
        {
            "type": "silence",
            "schema_version": SILENCE_SCHEMA_VERSION,
            "at": at.isoformat(),
            "silence": silence.model_dump(mode="json"),
        }
    )


def decode_silence(raw: bytes | None) -> SilenceSet:
    fields: dict[str, Any] = open_envelope(raw, "silence", SILENCE_SCHEMA_VERSION)
    return validated(
        lambda: SilenceSet(
            silence=Silence.model_validate(fields.get("silence")),
            at=AT.validate_python(fields.get("at")),
        ),
        "silence",
    )
