"""The `interactions` topic's value format: `{"type": "interaction", "schema_version": 1, …}`.

Key: the channel id of the issue, like `alerts`, so the interaction lands on the partition
that owns the issue. The remaining fields are `domain.interactions.Interaction`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from domain.alert import problems_from
from domain.errors import summarise
from domain.interactions import Interaction
from domain.issue_state import IssueState
from domain.silences import Silence
from infra.alert_wire import UndecodableAlert
from infra.wire_envelope import open_envelope

INTERACTION_SCHEMA_VERSION = 1


def encode_interaction(interaction: Interaction) -> bytes:
    body: dict[str, Any] = {
        "type": "interaction",
        "schema_version": INTERACTION_SCHEMA_VERSION,
        **interaction.model_dump(mode="json", exclude_none=True),
    }
    return _dumps(body)


def decode_interaction(raw: bytes | None) -> Interaction:
    """The interaction, or `UndecodableAlert` (dead-lettered like any bad input) saying why."""
    fields = open_envelope(raw, "interaction", INTERACTION_SCHEMA_VERSION)
    try:
        return Interaction.model_validate(fields)
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableAlert(f"invalid interaction: {summarise(problems)}", problems) from None


# Besides interactions, the topic carries two more inputs that must be folded in order with a
# channel's alerts: silences (one copy on every partition, keyed "silence:<id>") and moved
# issues handed over to their new channel's partition (keyed by that channel).
SILENCE_SCHEMA_VERSION = 1
HANDOVER_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SilenceSet:
    """A silence set (or re-set with an earlier end: expired) at `at`."""

    silence: Silence
    at: datetime


@dataclass(frozen=True)
class IssueHandover:
    issue: IssueState
    from_channel_id: str
    reason: str
    at: datetime


PartitionInput = Interaction | SilenceSet | IssueHandover


def encode_silence(silence: Silence, *, at: datetime) -> bytes:
    return _dumps(
        {
            "type": "silence",
            "schema_version": SILENCE_SCHEMA_VERSION,
            "at": at.isoformat(),
            "silence": silence.model_dump(mode="json"),
        }
    )


def encode_handover(handover: IssueHandover) -> bytes:
    return _dumps(
        {
            "type": "issue_handover",
            "schema_version": HANDOVER_SCHEMA_VERSION,
            "at": handover.at.isoformat(),
            "from_channel_id": handover.from_channel_id,
            "reason": handover.reason,
            "issue": handover.issue.model_dump(mode="json"),
        }
    )


def decode_partition_input(raw: bytes | None) -> PartitionInput:
    """Whatever an `interactions` record holds, or `UndecodableAlert` saying why not."""
    kind = _peek_type(raw)
    if kind == "silence":
        fields = open_envelope(raw, "silence", SILENCE_SCHEMA_VERSION)
        return _validated(
            lambda: SilenceSet(
                silence=Silence.model_validate(fields.get("silence")),
                at=_AT.validate_python(fields.get("at")),
            ),
            "silence",
        )
    if kind == "issue_handover":
        fields = open_envelope(raw, "issue_handover", HANDOVER_SCHEMA_VERSION)
        return _validated(
            lambda: IssueHandover(
                issue=IssueState.model_validate(fields.get("issue")),
                from_channel_id=str(fields.get("from_channel_id") or ""),
                reason=str(fields.get("reason") or ""),
                at=_AT.validate_python(fields.get("at")),
            ),
            "issue hand-over",
        )
    return decode_interaction(raw)


_AT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def _peek_type(raw: bytes | None) -> object:
    try:
        obj = json.loads(raw or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # decode_interaction says why
    return obj.get("type") if isinstance(obj, dict) else None


def _validated(build: Callable[[], PartitionInput], what: str) -> PartitionInput:
    try:
        return build()
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableAlert(f"invalid {what}: {summarise(problems)}", problems) from None


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
