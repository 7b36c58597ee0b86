"""The settings of reminders, silence choices and the deduplication window, from the
environment: durations as `90s`, `30m`, `1h`, `2d` or seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.alerting import AlertingSettings
from infra.settings import SettingsError, load_settings


def test_by_default_no_reminders_no_deduplication_and_four_silence_choices() -> None:
    settings = load_settings({})
    assert settings.resend_interval is None and settings.deduplication_window is None
    assert settings.silence_durations == tuple(timedelta(minutes=m) for m in (30, 60, 240, 1440))


def test_durations_read_with_their_units() -> None:
    settings = load_settings(
        {
            "ALERTFOLD_RESEND_INTERVAL": "30m",
            "ALERTFOLD_DEDUPLICATION_WINDOW": "300",
            "ALERTFOLD_SILENCE_DURATIONS": "15m, 1h,4h,2d",
        }
    )
    assert settings.resend_interval == timedelta(minutes=30)
    assert settings.deduplication_window == timedelta(minutes=5)
    assert settings.silence_durations == (
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=2),
    )
    assert AlertingSettings.of(settings.resend_interval, settings.deduplication_window) == (
        AlertingSettings(reminder_interval_seconds=1800, deduplication_window_seconds=300)
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALERTFOLD_RESEND_INTERVAL", "30 minutes"),
        ("ALERTFOLD_DEDUPLICATION_WINDOW", "-5m"),
        ("ALERTFOLD_SILENCE_DURATIONS", "30s"),
        ("ALERTFOLD_SILENCE_DURATIONS", "91d"),
        ("ALERTFOLD_SILENCE_DURATIONS", ",".join(["1h"] * 101)),
    ],
)
def test_bad_durations_stop_the_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value})
