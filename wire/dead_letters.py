"""The `alerts.dlq` value: an input that could not be folded, or an alert the API set aside,
with the reason and its bytes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

DLQ_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DeadLetter:
    """What goes to `alerts.dlq`: the reason and the original record, bytes intact."""

    reason: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "type": "alert.dead_lettered",
                "schema_version": DLQ_SCHEMA_VERSION,
                "reason": self.reason,
                "problems": self.problems,
                "source": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
                "key_base64": _b64(self.key),
                "value_base64": _b64(self.value),
            },
            ensure_ascii=False,
        ).encode()

    def headers(self) -> list[tuple[str, bytes]]:
        return [("alertfold-reason", self.reason[:1000].encode())]


@dataclass(frozen=True)
class AlertSetAside:
    """An alert of an Alertmanager request the API did not take (the others of the request
    were): `source` names the request (`http`: method and path), the alert's place in its
    list and when it came; `value` is the alert as sent."""

    reason: str
    problems: list[dict[str, str]]
    request: str
    index: int
    received_at: datetime
    value: bytes

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "type": "alert.dead_lettered",
                "schema_version": DLQ_SCHEMA_VERSION,
                "reason": self.reason,
                "problems": self.problems,
                "source": {
                    "http": self.request,
                    "index": self.index,
                    "received_at": self.received_at.astimezone(UTC).isoformat(),
                },
                "key_base64": None,
                "value_base64": _b64(self.value),
            },
            ensure_ascii=False,
        ).encode()

    def headers(self) -> list[tuple[str, bytes]]:
        return [("alertfold-reason", self.reason[:1000].encode())]


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()
