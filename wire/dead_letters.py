"""The `alerts.dlq` value: an input that could not be folded, with the reason and its bytes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

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


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()
