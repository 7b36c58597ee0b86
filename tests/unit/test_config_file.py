"""One config file (ALERTFOLD_CONFIG) as an alternative to environment variables: sections of
keys, `${NAME}` from the environment, the environment winning, and refusals with file and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from infra.settings import SettingsError, load_settings, resolve_settings

KEY = "ingest-key-0123456789"


def written(tmp_path: Path, text: str, name: str = "alertfold.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, **environ: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings({"ALERTFOLD_CONFIG": str(path), **environ})
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


# -- reading ----------------------------------------------------------------------------------


def test_every_section_sets_its_settings(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        """
kafka:
  bootstrap_servers: [kafka-1:9092, kafka-2:9092]
  partitions: 16
  topic_prefix: staging.
database:
  url: postgresql://alertfold@db/alertfold
api:
  port: 9000
  ingest_api_keys: [ingest-key-0123456789]
slack:
  alert_markup: mrkdwn
alerting:
  resend_interval: 30m
  silence_durations: [15m, 1h, 4h, 24h]
  deduplication_window: 5m
notifications:
  attempts: 6
logging:
  level: warn
up:
  workers: 2
  replicas: {presenter: 2, notifier: 3}
""",
    )
    settings = load_settings({"ALERTFOLD_CONFIG": str(path)})
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert (settings.partitions, settings.topic_prefix) == (16, "staging.")
    assert settings.database_url == "postgresql://alertfold@db/alertfold"
    assert settings.api_port == 9000
    assert settings.ingest_api_keys == (KEY,)
    assert settings.slack_alert_markup == "mrkdwn"
    assert settings.resend_interval == timedelta(minutes=30)
    assert settings.silence_durations == (
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(hours=24),
    )
    assert settings.deduplication_window == timedelta(minutes=5)
    assert settings.notify_attempts == 6
    assert settings.log_level == "warning"
    assert settings.replicas_of("worker") == 2
    assert settings.replicas == (("presenter", 2), ("notifier", 3))


def test_an_empty_file_or_section_or_value_leaves_the_defaults(tmp_path: Path) -> None:
    defaults = load_settings({})
    for text in ("", "# nothing yet\n", "api:\n", "api:\n  port:\n", 'api:\n  host: ""\n'):
        path = written(tmp_path, text)
        assert load_settings({"ALERTFOLD_CONFIG": str(path)}) == defaults, text


def test_names_in_braces_are_replaced_from_the_environment(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        "slack:\n  bot_token: ${BOT}\napi:\n  ingest_api_keys: ['${INGEST}']\n"
        "  public_url: https://${HOST}/alertfold\n",
    )
    settings = load_settings(
        {"ALERTFOLD_CONFIG": str(path), "BOT": "xoxb-1", "INGEST": KEY, "HOST": "ops.example"}
    )
    assert settings.slack_bot_token == "xoxb-1"
    assert settings.ingest_api_keys == (KEY,)
    assert settings.public_url == "https://ops.example/alertfold"


def test_environment_variables_win_over_the_file(tmp_path: Path) -> None:
    path = written(tmp_path, "api:\n  port: 9000\n  host: 0.0.0.0\n")
    settings = load_settings({"ALERTFOLD_CONFIG": str(path), "ALERTFOLD_API_PORT": "9100"})
    assert (settings.api_port, settings.api_host) == (9100, "0.0.0.0")


def test_explicit_overrides_win_over_the_environment_and_the_file(tmp_path: Path) -> None:
    path = written(tmp_path, "kafka:\n  partitions: 4\n")
    environ = {"ALERTFOLD_CONFIG": str(path), "ALERTFOLD_PARTITIONS": "6"}
    assert load_settings(environ, partitions=2).partitions == 2


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "routes.json").write_text("[]", encoding="utf-8")
    path = written(tmp_path, "alerting:\n  routes_file: routes.json\nstorage:\n  data_dir: state\n")
    settings = load_settings({"ALERTFOLD_CONFIG": str(path)})
    assert settings.routes_file == tmp_path / "routes.json"
    assert settings.data_dir == tmp_path / "state"


def test_each_value_remembers_where_it_was_set(tmp_path: Path) -> None:
    path = written(tmp_path, "api:\n  host: 0.0.0.0\n\n  port: 9000\n")
    resolved = resolve_settings({"ALERTFOLD_CONFIG": str(path), "ALERTFOLD_API_PORT": "9100"})
    assert str(resolved.origin("api_host")) == f"{path}:2"
    assert str(resolved.origin("api_port")) == "environment"
    assert str(resolved.origin("partitions")) == "default"


# -- refusals ---------------------------------------------------------------------------------


def test_a_bad_value_is_refused_with_the_file_line_and_key(tmp_path: Path) -> None:
    path = written(tmp_path, "kafka:\n  partitions: 4\nalerting:\n  resend_interval: 30 minutes\n")
    assert refusal(path) == [
        f"{path}:4: alerting.resend_interval='30 minutes': not a duration such as 90s, 30m, "
        "1h or 1h30m, or a number of seconds"
    ]


def test_a_bad_value_in_the_file_is_refused_even_where_a_variable_wins(tmp_path: Path) -> None:
    path = written(tmp_path, "api:\n  port: http\n")
    (line,) = refusal(path, ALERTFOLD_API_PORT="9000")
    assert line.startswith(f"{path}:2: api.port='http': Input should be a valid integer")


def test_a_secret_in_the_file_is_never_shown_in_a_refusal(tmp_path: Path) -> None:
    path = written(tmp_path, "api:\n  view_api_keys: [short-secret]\n")
    assert refusal(path) == [
        f"{path}:2: api.view_api_keys=(hidden): key 1 is shorter than 16 characters"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "alerting:\n  resend_intervall: 30m\n",
            "2: alerting.resend_intervall: unknown setting; did you mean resend_interval?",
        ),
        ("api:\n  colour: red\n", "2: api.colour: unknown setting; known: host, "),
        ("alerts:\n  resend_interval: 30m\n", "1: alerts: unknown section; did you mean alerting?"),
        ("api:\n  port: 1\n  port: 2\n", "3: api.port is given twice (first on line 2)"),
        ("api:\n  port: 1\napi:\n  host: h\n", "3: api is given twice (first on line 1)"),
        ("- api\n", "1: expected sections (kafka, storage, "),
        ("api: 8080\n", "1: api: expected keys such as `api.…: value`"),
        ("api:\n  port: [1\n", "3: not valid YAML: "),
        (
            "slack:\n  bot_token: ${NOT_SET}\n",
            "2: slack.bot_token: ${NOT_SET} is not set in the environment",
        ),
    ],
)
def test_what_is_not_a_setting_is_refused_with_the_file_and_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = written(tmp_path, text)
    lines = refusal(path)
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:{problem}")


def test_every_problem_in_the_file_is_listed_at_once(tmp_path: Path) -> None:
    path = written(tmp_path, "api:\n  colour: red\nup:\n  wokers: 2\n")
    assert [line.split(":")[1] for line in refusal(path)] == ["2", "4"]


def test_a_config_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"cannot read the config file .*missing\.yaml"):
        load_settings({"ALERTFOLD_CONFIG": str(tmp_path / "missing.yaml")})
