"""The `ticks` value: its time, and the worker's alerting settings when any is on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.alerting import OFF, AlertingSettings
from wire.envelope import UndecodableInput
from wire.ticks import Tick, decode_tick, encode_tick

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_tick_without_settings_is_just_its_time() -> None:
    assert json.loads(encode_tick(AT)) == {
        "type": "tick",
        "schema_version": 1,
        "at": "2026-11-23T09:00:00+00:00",
    }
    assert decode_tick(encode_tick(AT)) == Tick(AT, OFF)


def test_a_tick_carries_the_settings_that_are_on() -> None:
    settings = AlertingSettings(reminder_interval_seconds=1800)
    raw = encode_tick(AT.astimezone(timezone(timedelta(hours=2))), settings)
    assert json.loads(raw)["reminder_interval_seconds"] == 1800
    assert "deduplication_window_seconds" not in json.loads(raw)
    assert decode_tick(raw) == Tick(AT, settings)


def test_settings_come_from_the_worker_in_whole_seconds() -> None:
    settings = AlertingSettings.of(timedelta(minutes=30), timedelta(seconds=90.5))
    assert settings == AlertingSettings(
        reminder_interval_seconds=1800, deduplication_window_seconds=90
    )


@pytest.mark.parametrize(
    "settings",
    [{"reminder_interval_seconds": 0}, {"deduplication_window_seconds": "300"}],
)
def test_a_tick_with_bad_settings_is_undecodable(settings: dict[str, object]) -> None:
    raw = json.dumps({"type": "tick", "schema_version": 1, "at": AT.isoformat(), **settings})
    with pytest.raises(UndecodableInput, match="tick settings are invalid"):
        decode_tick(raw.encode())
