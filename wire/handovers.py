"""Moved issues on `interactions`: `{"type": "issue_handover", "schema_version": 1, …}`.

The worker that folded an `IssueMoved` hands the issue's state to the new channel's
partition (key: the new channel), where it is folded in order with that channel's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.issue_state import IssueState
from wire.envelope import open_envelope
from wire.interactions import dumps
from wire.validation import AT, validated

HANDOVER_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class IssueHandover:
    issue: IssueState
    from_channel_id: str
    reason: str
    at: datetime


def encode_handover(handover: IssueHandover) -> bytes:
    return dumps(
        {
            "type": "issue_handover",
            "schema_version": HANDOVER_SCHEMA_VERSION,
            "at": handover.at.isoformat(),
            "from_channel_id": handover.from_channel_id,
            "reason": handover.reason,
            "issue": handover.issue.model_dump(mode="json"),
        }
    )


def decode_handover(raw: bytes | None) -> IssueHandover:
    fields: dict[str, Any] = open_envelope(raw, "issue_handover", HANDOVER_SCHEMA_VERSION)
    return validated(
        lambda: IssueHandover(
            issue=IssueState.model_validate(fields.get("issue")),
            from_channel_id=str(fields.get("from_channel_id") or ""),
            reason=str(fields.get("reason") or ""),
            at=AT.validate_python(fields.get("at")),
        ),
        "issue hand-over",
    )
