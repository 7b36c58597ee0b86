"""The `ticks` value: its time, and the worker's alerting settings when any is on (the
channels with their own reminder interval when there are any)."""

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


def test_a_tick_carries_the_channels_with_their_own_reminder_interval() -> None:
    settings = AlertingSettings(
        reminder_interval_seconds=1800,
        channel_reminder_interval_seconds={"C0123456789": 900, "C0456789ABC": 0},
    )
    raw = encode_tick(AT, settings)
    assert json.loads(raw)["channel_reminder_interval_seconds"] == {
        "C0123456789": 900,
        "C0456789ABC": 0,
    }
    assert decode_tick(raw) == Tick(AT, settings)


def test_no_channel_of_its_own_writes_nothing_and_an_older_tick_reads_as_none() -> None:
    settings = AlertingSettings(reminder_interval_seconds=1800)
    raw = encode_tick(AT, settings)
    assert "channel_reminder_interval_seconds" not in json.loads(raw)
    written_before = b'{"type":"tick","schema_version":1,"at":"2026-11-23T09:00:00Z",' + (
        b'"reminder_interval_seconds":1800}'
    )
    decoded = decode_tick(written_before)
    assert decoded == Tick(AT, settings)
    assert decoded.settings.channel_reminder_interval_seconds == {}


def test_the_same_settings_make_the_same_tick_whatever_order_the_channels_came_in() -> None:
    one = AlertingSettings.of(
        None, None, [("C0456789ABC", timedelta(0)), ("C0123456789", timedelta(minutes=15))]
    )
    other = AlertingSettings.of(
        None, None, [("C0123456789", timedelta(minutes=15)), ("C0456789ABC", timedelta(0))]
    )
    assert encode_tick(AT, one) == encode_tick(AT, other)
    assert one.channel_reminder_interval_seconds == {"C0123456789": 900, "C0456789ABC": 0}


def test_settings_with_the_same_channels_are_equal_and_hash_alike() -> None:
    one = AlertingSettings(channel_reminder_interval_seconds={"C0123456789": 900, "C0AB": 0})
    other = AlertingSettings(channel_reminder_interval_seconds={"C0AB": 0, "C0123456789": 900})
    assert one == other
    assert hash(one) == hash(other)
    assert hash(Tick(AT, one)) == hash(Tick(AT, other))
    assert len({one, other, OFF}) == 2


def test_a_partitions_ticks_may_carry_only_the_channels_whose_issues_open_there() -> None:
    settings = AlertingSettings(
        reminder_interval_seconds=1800,
        channel_reminder_interval_seconds={"C0123456789": 900, "C0456789ABC": 0},
    )
    assert settings.for_channels(lambda channel: channel == "C0456789ABC") == AlertingSettings(
        reminder_interval_seconds=1800, channel_reminder_interval_seconds={"C0456789ABC": 0}
    )


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"reminder_interval_seconds": 0}, "reminder_interval_seconds:"),
        ({"deduplication_window_seconds": "300"}, "deduplication_window_seconds:"),
        (
            {"channel_reminder_interval_seconds": {"C0123456789": -1}},
            "channel_reminder_interval_seconds.C0123456789: Input should be greater than",
        ),
        (
            {"channel_reminder_interval_seconds": {"C0123456789": "900"}},
            "channel_reminder_interval_seconds.C0123456789: Input should be a valid integer",
        ),
        (
            {"channel_reminder_interval_seconds": ["C0123456789", 900]},
            "channel_reminder_interval_seconds: Input should be a valid dictionary",
        ),
    ],
)
def test_a_tick_with_bad_settings_is_undecodable_saying_which(
    settings: dict[str, object], problem: str
) -> None:
    raw = json.dumps({"type": "tick", "schema_version": 1, "at": AT.isoformat(), **settings})
    with pytest.raises(UndecodableInput, match="tick settings are invalid") as refused:
        decode_tick(raw.encode())
    assert problem in str(refused.value)
