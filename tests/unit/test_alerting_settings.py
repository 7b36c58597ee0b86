"""Reminders (per Slack channel too), silence choices and the deduplication window, as Alert
Bridge users set them; and durations written `30m`, `1h`, `90s` wherever a setting is a
duration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain.alerting import AlertingSettings
from infra.settings import SettingsError, load_settings
from infra.settings_values import format_duration, parse_duration


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    (line,) = str(caught.value).splitlines()[1:]
    return line.strip()


def test_reminders_and_deduplication_are_off_and_silences_offer_four_lengths_by_default() -> None:
    settings = load_settings({})
    assert settings.resend_interval is None
    assert settings.deduplication_window is None
    assert settings.silence_durations == (
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(hours=24),
    )


def test_the_three_alerting_settings_come_from_their_variables() -> None:
    settings = load_settings(
        {
            "ALERTFOLD_RESEND_INTERVAL": "30m",
            "ALERTFOLD_SILENCE_DURATIONS": "15m, 1h,4h , 1d",
            "ALERTFOLD_DEDUPLICATION_WINDOW": "300",
        }
    )
    assert settings.resend_interval == timedelta(minutes=30)
    assert settings.silence_durations == (
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=1),
    )
    assert settings.deduplication_window == timedelta(minutes=5)


@pytest.mark.parametrize(
    "variable", ["ALERTFOLD_RESEND_INTERVAL", "ALERTFOLD_DEDUPLICATION_WINDOW"]
)
def test_zero_turns_reminders_and_deduplication_off(variable: str) -> None:
    assert (
        getattr(load_settings({variable: "0"}), variable.removeprefix("ALERTFOLD_").lower()) is None
    )


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"ALERTFOLD_RESEND_INTERVAL": "30s"}, "must be 0 (off) or from 1m to 90d"),
        ({"ALERTFOLD_RESEND_INTERVAL": "half an hour"}, "not a duration such as 90s, 30m"),
        ({"ALERTFOLD_DEDUPLICATION_WINDOW": "2d"}, "must be 0 (off) or from 1s to 1d"),
        ({"ALERTFOLD_SILENCE_DURATIONS": "30s,1h"}, "'30s' is not from 1 minute to 90 days"),
        ({"ALERTFOLD_SILENCE_DURATIONS": "1h,91d"}, "'91d' is not from 1 minute to 90 days"),
        ({"ALERTFOLD_SILENCE_DURATIONS": "1h,60m"}, "'60m' is given twice"),
        ({"ALERTFOLD_SILENCE_DURATIONS": ","}, "name at least one duration"),
        (
            {"ALERTFOLD_SILENCE_DURATIONS": ",".join(f"{n}m" for n in range(1, 102))},
            "101 choices; Slack shows at most 100 in a menu",
        ),
    ],
)
def test_a_bad_alerting_setting_is_refused_naming_its_variable(
    environ: dict[str, str], problem: str
) -> None:
    ((variable, value),) = environ.items()
    line = refusal(**environ)
    assert line.startswith(f"{variable}={value!r}: ")
    assert problem in line


# -- reminders per channel ----------------------------------------------------------------------

FIFTEEN_MINUTES_AND_OFF = (
    ("C0123456789", timedelta(minutes=15)),
    ("C0456789ABC", timedelta(0)),
)


def test_no_channel_has_its_own_reminder_interval_by_default() -> None:
    assert load_settings({}).channel_resend_intervals == ()


def test_channels_with_their_own_reminder_interval_come_from_their_variable() -> None:
    settings = load_settings(
        {"ALERTFOLD_CHANNEL_RESEND_INTERVALS": " c0456789abc=0 , C0123456789=15m,"}
    )
    assert settings.channel_resend_intervals == FIFTEEN_MINUTES_AND_OFF


@pytest.mark.parametrize(
    "written",
    [
        "{C0123456789: 15m, C0456789ABC: 0}",
        "{C0456789ABC: 0s, c0123456789: 900}",
        "[C0123456789=15m, C0456789ABC=0]",
        "C0123456789=15m,C0456789ABC=0",
    ],
)
def test_channels_with_their_own_reminder_interval_come_from_the_config_file(
    tmp_path: Path, written: str
) -> None:
    path = tmp_path / "alertfold.yaml"
    path.write_text(f"alerting:\n  channel_resend_intervals: {written}\n")
    settings = load_settings({"ALERTFOLD_CONFIG": str(path)})
    assert settings.channel_resend_intervals == FIFTEEN_MINUTES_AND_OFF


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("C0123=15m", "'C0123' is not a Slack channel id (9 to 15 letters or digits"),
        ("#general=15m", "'#general' is not a Slack channel id"),
        ("C0123456789", "'C0123456789' is not channel=duration (e.g. C0123456789=15m)"),
        ("C0123456789=", "C0123456789 has no interval (0 turns its reminders off)"),
        ("C0123456789=30s", "'C0123456789=30s': must be 0 (off) or from 1m to 90d"),
        ("C0123456789=91d", "'C0123456789=91d': must be 0 (off) or from 1m to 90d"),
        ("C0123456789=soon", "'C0123456789=soon': not a duration such as 90s, 30m"),
        ("C0123456789=1h,c0123456789=0", "c0123456789 is given twice"),
    ],
)
def test_a_bad_channel_reminder_interval_is_refused_naming_the_variable_and_the_entry(
    value: str, problem: str
) -> None:
    line = refusal(ALERTFOLD_CHANNEL_RESEND_INTERVALS=value)
    assert line.startswith(f"ALERTFOLD_CHANNEL_RESEND_INTERVALS={value!r}: {problem}")


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("{C0123: 15m}", "'C0123' is not a Slack channel id"),
        ("{C0123456789: 30}", "'C0123456789=30': must be 0 (off) or from 1m to 90d"),
        ("{C0123456789: }", "C0123456789 has no interval"),
        ("{C0123456789: true}", "'C0123456789=True': not a duration"),
        ("15m", "'15m' is not channel=duration"),
        ("30", "expected channel=duration entries, comma-separated, or a mapping"),
    ],
)
def test_a_bad_channel_reminder_interval_in_the_file_is_refused_with_its_line_and_key(
    tmp_path: Path, written: str, problem: str
) -> None:
    path = tmp_path / "alertfold.yaml"
    path.write_text(f"alerting:\n  resend_interval: 30m\n  channel_resend_intervals: {written}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({"ALERTFOLD_CONFIG": str(path)})
    (line,) = str(caught.value).splitlines()[1:]
    assert line.strip().startswith(f"{path}:3: alerting.channel_resend_intervals=")
    assert problem in line


def test_a_hundred_silence_choices_are_accepted() -> None:
    choices = ",".join(f"{n}m" for n in range(1, 101))
    assert len(load_settings({"ALERTFOLD_SILENCE_DURATIONS": choices}).silence_durations) == 100


# -- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("500ms", 0.5),
        ("1.5h", 5400),
        ("45", 45),
        (" 2.5 ", 2.5),
        (60, 60),
    ],
)
def test_a_duration_is_go_style_text_or_a_number_of_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30 minutes", "1y", "-5m", "m", "1h 30m", "PT30M", True, -1])
def test_what_is_not_a_duration_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [float("inf"), "1" * 20, "9" * 12 + "d"])
def test_a_duration_too_long_to_keep_is_refused_not_a_crash(value: object) -> None:
    with pytest.raises(ValueError, match="longer than any duration"):
        parse_duration(value)


@pytest.mark.parametrize("text", ["45s", "1m30s", "30m", "4h", "1d", "1h30m", "1d2h", "1.5s", "0s"])
def test_a_duration_is_shown_in_the_form_the_file_takes(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_the_seconds_and_days_variables_also_take_durations() -> None:
    settings = load_settings(
        {
            "ALERTFOLD_TICK_SECONDS": "500ms",
            "ALERTFOLD_NOTIFY_MAX_BACKOFF_SECONDS": "2m",
            "ALERTFOLD_RETENTION_INTERVAL_SECONDS": "1h",
            "ALERTFOLD_RETAIN_ALERTS_DAYS": "12h",
            "ALERTFOLD_RETAIN_CLOSED_ISSUES_DAYS": "90",
        }
    )
    assert settings.tick_seconds == 0.5
    assert settings.notify_max_backoff_seconds == 120
    assert settings.retention_interval_seconds == 3600
    assert settings.retain_alerts_days == 0.5
    assert settings.retain_closed_issues_days == 90


def test_a_seconds_variable_that_is_no_duration_names_the_variable() -> None:
    assert refusal(ALERTFOLD_TICK_SECONDS="soon").startswith("ALERTFOLD_TICK_SECONDS='soon': not")


def test_the_alerting_settings_reach_the_fold_in_whole_seconds() -> None:
    settings = load_settings(
        {
            "ALERTFOLD_RESEND_INTERVAL": "30m",
            "ALERTFOLD_DEDUPLICATION_WINDOW": "300",
            "ALERTFOLD_CHANNEL_RESEND_INTERVALS": "C0123456789=15m,C0456789ABC=0",
        }
    )
    assert AlertingSettings.of(
        settings.resend_interval, settings.deduplication_window, settings.channel_resend_intervals
    ) == AlertingSettings(
        reminder_interval_seconds=1800,
        deduplication_window_seconds=300,
        channel_reminder_interval_seconds={"C0123456789": 900, "C0456789ABC": 0},
    )
