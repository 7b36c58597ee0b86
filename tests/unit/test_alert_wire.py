"""The `alerts` topic's value format: what the fold accepts and what it dead-letters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from domain.alert import Alert
from wire.alerts import decode_alert, encode_alert
from wire.dead_letters import DeadLetter
from wire.envelope import UndecodableInput

RECORD_TIME = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ALERT = {"slackChannelId": "C123", "header": "Disk full", "severity": "warning"}


def test_envelope_round_trips_the_alert_and_its_receive_time() -> None:
    received = datetime(2026, 11, 23, 9, 59, tzinfo=UTC)
    envelope = decode_alert(encode_alert(Alert.from_json_obj(ALERT), received), RECORD_TIME)
    assert envelope.alert == Alert.from_json_obj(ALERT)
    assert envelope.received_at == received


def test_bare_slack_manager_alert_is_received_at_the_record_time() -> None:
    envelope = decode_alert(json.dumps(ALERT).encode(), RECORD_TIME)
    assert envelope.alert.header == "Disk full"
    assert envelope.received_at == RECORD_TIME


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty value"),
        (b"", "empty value"),
        (b"{oops", "value is not valid JSON"),
        (b"\xff\xfe", "value is not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"schema_version": 2, "type": "alert"}', "unknown schema_version 2"),
        (b'{"schema_version": 1, "type": "tick"}', "unknown type 'tick'"),
        (b'{"schema_version": 1, "type": "alert", "received_at": "yesterday"}', "received_at"),
        (b'{"slackChannelId": "C1", "severity": "loud", "header": "h"}', "invalid alert"),
    ],
)
def test_values_that_are_not_alerts_are_refused_with_a_reason(
    raw: bytes | None, reason: str
) -> None:
    with pytest.raises(UndecodableInput) as refused:
        decode_alert(raw, RECORD_TIME)
    assert reason in refused.value.reason


def test_invalid_alert_reason_carries_field_problems() -> None:
    with pytest.raises(UndecodableInput) as refused:
        decode_alert(b'{"slackChannelId": "C1", "severity": "loud", "header": "h"}', RECORD_TIME)
    assert [p["field"] for p in refused.value.problems] == ["severity"]


def test_dead_letter_keeps_the_original_bytes_and_says_where_they_came_from() -> None:
    letter = DeadLetter(
        reason="value is not valid JSON",
        topic="alerts",
        partition=3,
        offset=42,
        key=b"C1",
        value=b"\x00garbage",
    )
    body = json.loads(letter.to_json())
    assert body["type"] == "alert.dead_lettered"
    assert body["source"] == {"topic": "alerts", "partition": 3, "offset": 42}
    assert base64.b64decode(body["value_base64"]) == b"\x00garbage"
    assert base64.b64decode(body["key_base64"]) == b"C1"
    assert letter.headers() == [("alertfold-reason", b"value is not valid JSON")]
