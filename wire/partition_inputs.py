"""Whatever an `interactions` record holds: an interaction, a silence or a hand-over."""

from __future__ import annotations

import json

from domain.interactions import Interaction
from wire.handovers import IssueHandover, decode_handover
from wire.interactions import decode_interaction
from wire.silences import SilenceSet, decode_silence

PartitionInput = Interaction | SilenceSet | IssueHandover


def decode_partition_input(raw: bytes | None) -> PartitionInput:
    """The record's input, or `UndecodableInput` saying why not."""
    kind = _peek_type(raw)
    if kind == "silence":
        return decode_silence(raw)
    if kind == "issue_handover":
        return decode_handover(raw)
    return decode_interaction(raw)


def _peek_type(raw: bytes | None) -> object:
    try:
        obj = json.loads(raw or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # decode_interaction says why
    return obj.get("type") if isinstance(obj, dict) else None
