"""Settings of the API's security: keys from comma lists, never shown; the rate limit's knobs."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, load_settings

KEY_A = "ingest-key-0123456789"
KEY_B = "second-ingest-key-abcdef"


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    return str(caught.value)


def test_without_key_settings_the_api_is_open_and_unlimited() -> None:
    settings = load_settings({})
    assert settings.ingest_api_keys == () and settings.view_api_keys == ()
    assert settings.rate_limit_per_second == 0
    assert settings.rate_limit_burst == 30


def test_keys_are_a_comma_separated_list_with_spaces_and_empty_items_dropped() -> None:
    settings = load_settings(
        {"ALERTFOLD_INGEST_API_KEYS": f" {KEY_A} ,, {KEY_B},", "ALERTFOLD_VIEW_API_KEYS": KEY_B}
    )
    assert settings.ingest_api_keys == (KEY_A, KEY_B)
    assert settings.view_api_keys == (KEY_B,)


def test_the_rate_limit_is_read_from_its_variables() -> None:
    settings = load_settings(
        {"ALERTFOLD_RATE_LIMIT_PER_SECOND": "1", "ALERTFOLD_RATE_LIMIT_BURST": "30"}
    )
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (1.0, 30)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ALERTFOLD_RATE_LIMIT_PER_SECOND", "-1"), ("ALERTFOLD_RATE_LIMIT_BURST", "0")],
)
def test_a_bad_rate_limit_is_refused_naming_the_variable(variable: str, value: str) -> None:
    assert f"{variable}={value!r}" in refusal(**{variable: value})


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{KEY_A},short-key", "key 2 is shorter than 16 characters"),
        ("a key with spaces in it", "key 1 has a character other than printable ASCII"),
    ],
)
def test_a_weak_key_is_refused_without_showing_any_key(value: str, problem: str) -> None:
    for variable in ("ALERTFOLD_INGEST_API_KEYS", "ALERTFOLD_VIEW_API_KEYS"):
        message = refusal(**{variable: value})
        assert f"{variable}=(hidden): {problem}" in message
        assert not any(key in message for key in value.split(","))


def test_secrets_never_show_in_the_settings_representation() -> None:
    settings = load_settings(
        {
            "ALERTFOLD_INGEST_API_KEYS": KEY_A,
            "ALERTFOLD_VIEW_API_KEYS": KEY_B,
            "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
            "SLACK_APP_TOKEN": "xapp-secret-app-token",
            "DATABASE_URL": "postgresql://app:db-password@db/alerts",
        }
    )
    shown = repr(settings) + str(settings)
    for secret in (KEY_A, KEY_B, "xoxb-secret", "xapp-secret", "db-password"):
        assert secret not in shown


def test_a_database_url_password_with_an_at_sign_is_hidden_whole() -> None:
    message = refusal(DATABASE_URL="oracle://app:pa@ss@db/alerts")
    assert "pa@ss" not in message and "ss@db" not in message
    assert "oracle://app:***@db/alerts" in message


def test_operator_keys_are_named_and_never_shown() -> None:
    settings = load_settings({"ALERTFOLD_OPERATOR_API_KEYS": f"ana:{KEY_A}, bo.b:{KEY_B}"})
    assert settings.operator_api_keys == (("ana", KEY_A), ("bo.b", KEY_B))
    assert KEY_A not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"ALERTFOLD_OPERATOR_API_KEYS": KEY_A}, "entry 1 is not name:key"),
        ({"ALERTFOLD_OPERATOR_API_KEYS": "ana:short-key"}, "key 1 is shorter than 16"),
        (
            {"ALERTFOLD_OPERATOR_API_KEYS": f"ana:{KEY_A},bo:{KEY_A}"},
            "the same key is given to two",
        ),
        (
            {"ALERTFOLD_OPERATOR_API_KEYS": f"ana:{KEY_A}", "ALERTFOLD_INGEST_API_KEYS": KEY_A},
            "shares a key with ALERTFOLD_INGEST_API_KEYS",
        ),
    ],
)
def test_a_bad_operator_key_is_refused_without_showing_it(
    environ: dict[str, str], problem: str
) -> None:
    message = refusal(**environ)
    assert f"ALERTFOLD_OPERATOR_API_KEYS=(hidden): {problem}" in message
    assert KEY_A not in message
