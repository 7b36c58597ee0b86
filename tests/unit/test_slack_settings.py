"""The presenter's settings, and which presenter a token gives."""

from __future__ import annotations

import pytest

from app.composition import create_app
from gateways.slack.dry_run import DryRunPresenter
from gateways.slack.presenter import SlackPresenter
from infra.settings import SettingsError, load_settings


def test_slack_settings_default_to_slack_itself_at_one_call_per_second() -> None:
    settings = load_settings({})
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.slack_calls_per_second == 1
    assert settings.slack_tier3_calls_per_minute == 50
    assert settings.slack_alert_markup == "escaped"
    assert settings.slack_archived_message == "keep"


def test_slack_settings_come_from_the_environment() -> None:
    settings = load_settings(
        {
            "SLACK_API_URL": "http://127.0.0.1:9999/api/",
            "ALERTFOLD_SLACK_CALLS_PER_SECOND": "2.5",
            "ALERTFOLD_SLACK_ARCHIVED_MESSAGE": "mark",
            "ALERTFOLD_SLACK_TIER3_CALLS_PER_MINUTE": "100",
            "ALERTFOLD_SLACK_ALERT_MARKUP": "mrkdwn",
        }
    )
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.slack_calls_per_second == 2.5
    assert settings.slack_tier3_calls_per_minute == 100
    assert settings.slack_alert_markup == "mrkdwn"
    assert settings.slack_archived_message == "mark"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALERTFOLD_SLACK_CALLS_PER_SECOND", "0"),
        ("SLACK_API_URL", "slack.com/api"),
        ("ALERTFOLD_SLACK_ARCHIVED_MESSAGE", "delete"),
        ("ALERTFOLD_SLACK_TIER3_CALLS_PER_MINUTE", "0"),
        ("ALERTFOLD_SLACK_ALERT_MARKUP", "html"),
    ],
)
def test_a_bad_slack_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value})


def test_a_bot_token_gives_the_slack_presenter_and_none_the_dry_run() -> None:
    assert isinstance(create_app(load_settings({})).presenter(), DryRunPresenter)
    with_token = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert isinstance(create_app(with_token).presenter(), SlackPresenter)
