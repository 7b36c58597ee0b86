"""The `alerts` topic's value format, written by the API and read by the fold.

A value is either alertfold's envelope `{"type": "alert", "schema_version": 1, "received_at":
…, "alert": {…}}` or, for producers writing the topic directly, a bare Slack Manager alert
JSON; the Kafka record's timestamp then stands for the time it was received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.alert import Alert
from domain.alert_own_json import read_own_alert
from domain.errors import AlertRejected
from wire.envelope import UndecodableInput

ALERT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AlertEnvelope:
    alert: Alert
    received_at: datetime


def encode_alert(alert: Alert, received_at: datetime) -> bytes:
    envelope = {
        "type": "alert",
        "schema_version": ALERT_SCHEMA_VERSION,
        "received_at": received_at.astimezone(UTC).isoformat(),
        "alert": alert.to_json_obj(),
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode_alert(raw: bytes | None, record_time: datetime) -> AlertEnvelope:
    """Read one `alerts` value, or raise `UndecodableInput` saying precisely why not."""
    if not raw:
        raise UndecodableInput("empty value: expected an alert JSON object")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise UndecodableInput(f"value is not valid JSON: {error}") from None
    if not isinstance(obj, dict):
        raise UndecodableInput(f"expected a JSON object, got {type(obj).__name__}")
    received_at = record_time
    envelope = "schema_version" in obj
    if envelope:
        obj, received_at = _open_envelope(obj)
    try:
        # In alertfold's envelope the alert is alertfold's own JSON, validated by the API.
        alert = read_own_alert(obj) if envelope else Alert.from_json_obj(obj)
    except AlertRejected as error:
        raise UndecodableInput(f"invalid alert: {error}", error.problems) from None
    _check_sealed(alert)
    return AlertEnvelope(alert, received_at)


def _check_sealed(alert: Alert) -> None:
    """Webhook URLs and payloads reach the fold only sealed: the API seals them, and a
    producer writing `alerts` directly must too, or they would spread into the issue events,
    the views and the audit store in the clear."""
    problems = [
        {
            "field": f"webhooks.{index}",
            "message": "url and payload must be sealed with ALERTFOLD_WEBHOOK_ENCRYPTION_KEY "
            '({"__encrypted_data": …}), as the API does',
        }
        for index, hook in enumerate(alert.webhooks)
        if not hook.sealed
    ]
    if problems:
        first = problems[0]
        raise UndecodableInput(f"invalid alert: {first['field']}: {first['message']}", problems)


def _open_envelope(obj: dict[str, Any]) -> tuple[Any, datetime]:
    version = obj.get("schema_version")
    if version != ALERT_SCHEMA_VERSION:
        raise UndecodableInput(
            f"unknown schema_version {version!r}: this worker reads {ALERT_SCHEMA_VERSION}"
        )
    if obj.get("type") != "alert":
        raise UndecodableInput(f"unknown type {obj.get('type')!r}: expected 'alert'")
    try:
        received_at = datetime.fromisoformat(str(obj.get("received_at")))
    except ValueError:
        raise UndecodableInput("received_at is not an RFC 3339 timestamp") from None
    if received_at.tzinfo is None:
        raise UndecodableInput("received_at has no time zone")
    return obj.get("alert"), received_at
