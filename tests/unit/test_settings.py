"""Settings from the environment: defaults, and a refusal naming the variable for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import warn_without_links
from infra.settings import ENVIRONMENT, Settings, SettingsError, load_settings


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    return str(caught.value)


# -- defaults ---------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings(
        kafka_bootstrap_servers=None,
        data_dir=Path(".alertfold"),
        cache_dir=Path(".cache"),
        database_url=None,
        api_host="127.0.0.1",
        api_port=8080,
        kafka_port=9092,
        partitions=8,
        topic_prefix="",
        routes_file=None,
        max_body_bytes=1_048_576,
        slack_bot_token=None,
        log_level="info",
    )


def test_empty_variables_count_as_unset() -> None:
    assert load_settings(dict.fromkeys(ENVIRONMENT, "")) == load_settings({})


def test_the_environment_is_read_only_through_the_documented_variables() -> None:
    assert load_settings({"API_PORT": "1", "PARTITIONS": "1"}) == load_settings({})


def test_without_bootstrap_servers_the_embedded_broker_is_used() -> None:
    assert load_settings({"KAFKA_BOOTSTRAP_SERVERS": "  "}).kafka_bootstrap_servers is None


def test_without_a_bot_token_nothing_is_sent_to_slack() -> None:
    assert load_settings({}).dry_run
    assert not load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).dry_run


def test_every_variable_sets_its_field() -> None:
    settings = load_settings(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
            "ALERTFOLD_DATA_DIR": "/var/lib/alertfold",
            "ALERTFOLD_CACHE_DIR": "/var/cache/alertfold",
            "DATABASE_URL": "postgresql://alertfold@db/alertfold",
            "ALERTFOLD_API_HOST": "0.0.0.0",
            "ALERTFOLD_API_PORT": "9000",
            "ALERTFOLD_KAFKA_PORT": "19092",
            "ALERTFOLD_PARTITIONS": "16",
            "ALERTFOLD_TOPIC_PREFIX": "staging.",
            "ALERTFOLD_MAX_BODY_BYTES": "2048",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "ALERTFOLD_LOG_LEVEL": "debug",
        }
    )
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.data_dir == Path("/var/lib/alertfold")
    assert settings.cache_dir == Path("/var/cache/alertfold")
    assert settings.database_url == "postgresql://alertfold@db/alertfold"
    assert settings.api_host == "0.0.0.0"
    assert (settings.api_port, settings.kafka_port) == (9000, 19092)
    assert settings.partitions == 16
    assert settings.topic_prefix == "staging."
    assert settings.max_body_bytes == 2048
    assert settings.slack_bot_token == "xoxb-1"
    assert settings.log_level == "debug"


def test_retention_defaults_to_slack_managers_ages_and_is_read_from_its_variables() -> None:
    defaults = load_settings({})
    assert (defaults.retain_closed_issues_days, defaults.retain_alerts_days) == (180, 30)
    assert defaults.retention_interval_seconds == 3600
    settings = load_settings(
        {
            "ALERTFOLD_RETAIN_CLOSED_ISSUES_DAYS": "90",
            "ALERTFOLD_RETAIN_ALERTS_DAYS": "0.5",
            "ALERTFOLD_RETENTION_INTERVAL_SECONDS": "60",
        }
    )
    assert (settings.retain_closed_issues_days, settings.retain_alerts_days) == (90, 0.5)
    assert settings.retention_interval_seconds == 60
    assert "ALERTFOLD_RETAIN_ALERTS_DAYS='0': " in refusal(ALERTFOLD_RETAIN_ALERTS_DAYS="0")


def test_the_log_level_is_read_in_any_case() -> None:
    assert load_settings({"ALERTFOLD_LOG_LEVEL": "WARNING"}).log_level == "warning"


def test_explicit_overrides_beat_the_environment_and_none_leaves_it_alone() -> None:
    settings = load_settings(
        {"ALERTFOLD_API_PORT": "9000", "ALERTFOLD_PARTITIONS": "4"}, api_port=9100, partitions=None
    )
    assert (settings.api_port, settings.partitions) == (9100, 4)


# -- the database -----------------------------------------------------------------------------


def test_the_default_database_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"ALERTFOLD_DATA_DIR": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'alertfold.db'}"


def test_a_relative_data_dir_gives_an_absolute_database_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"ALERTFOLD_DATA_DIR": "state"})
    expected = (tmp_path / "state" / "alertfold.db").resolve()
    assert settings.effective_database_url == f"sqlite:///{expected}"


@pytest.mark.parametrize(
    ("host", "public_url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("alertfold.internal", "http://alertfold.internal:8080"),
        ("::1", "http://[::1]:8080"),
        ("[::1]", "http://[::1]:8080"),
        ("0.0.0.0", ""),
        ("::", ""),
        ("[::]", ""),
    ],
)
def test_without_a_public_url_links_use_the_listen_address_unless_it_is_a_wildcard(
    host: str, public_url: str
) -> None:
    assert load_settings({"ALERTFOLD_API_HOST": host}).effective_public_url == public_url


def test_a_public_url_wins_over_any_listen_address() -> None:
    settings = load_settings(
        {"ALERTFOLD_API_HOST": "0.0.0.0", "ALERTFOLD_PUBLIC_URL": "https://alertfold.example/"}
    )
    assert settings.effective_public_url == "https://alertfold.example"


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_a_part_that_links_warns_at_start_when_it_has_no_address_to_link_to(
    host: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    warn_without_links(load_settings({"ALERTFOLD_API_HOST": host}))
    assert any("ALERTFOLD_PUBLIC_URL is not set" in r.message for r in caplog.records) == warned


def test_an_explicit_database_url_wins_over_the_default(tmp_path: Path) -> None:
    settings = load_settings(
        {"ALERTFOLD_DATA_DIR": str(tmp_path), "DATABASE_URL": "sqlite:////srv/views.db"}
    )
    assert settings.effective_database_url == "sqlite:////srv/views.db"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///views.db",
        "sqlite:////srv/views.db",
        "sqlite+pysqlite:///views.db",
        "postgresql://alertfold:secret@db:5432/alertfold",
        "postgresql+psycopg://alertfold@db/alertfold",
        "postgres://alertfold@db/alertfold",
        "mysql://alertfold:secret@db:3306/alertfold",
        "mysql+pymysql://alertfold@db/alertfold",
        "mariadb://alertfold@db/alertfold",
    ],
)
def test_every_database_url_the_database_layer_supports_is_accepted(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}).database_url == url


def test_spaces_around_the_database_url_are_dropped() -> None:
    settings = load_settings({"DATABASE_URL": "  sqlite:///views.db \n"})
    assert settings.database_url == "sqlite:///views.db"


@pytest.mark.parametrize(
    "url", ["oracle://alertfold@db/alertfold", "sqlite://views.db", "views.db", "http://db"]
)
def test_a_database_url_with_another_scheme_is_refused_naming_the_variable(url: str) -> None:
    message = refusal(DATABASE_URL=url)
    assert f"DATABASE_URL={url!r}" in message
    assert (
        "must start with sqlite:///, postgresql://, postgres://, mysql:// or mariadb://" in message
    )


# -- topics -----------------------------------------------------------------------------------


def test_topic_names_are_the_bare_names_without_a_prefix() -> None:
    settings = load_settings({})
    assert settings.alerts_topic == "alerts"
    assert settings.alerts_dlq_topic == "alerts.dlq"
    assert settings.issue_events_topic == "issue-events"
    assert settings.app_id == "alertfold"


def test_topic_names_and_the_app_id_get_the_prefix() -> None:
    settings = load_settings({"ALERTFOLD_TOPIC_PREFIX": "staging."})
    assert settings.alerts_topic == "staging.alerts"
    assert settings.alerts_dlq_topic == "staging.alerts.dlq"
    assert settings.issue_events_topic == "staging.issue-events"
    assert settings.topic("ticks") == "staging.ticks"
    assert settings.app_id == "staging.alertfold"


def test_a_topic_prefix_kafka_cannot_use_is_refused() -> None:
    message = refusal(ALERTFOLD_TOPIC_PREFIX="team a/")
    assert "ALERTFOLD_TOPIC_PREFIX='team a/'" in message


# -- Kafka bootstrap servers ------------------------------------------------------------------


def test_spaces_in_the_bootstrap_list_are_dropped() -> None:
    settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": " kafka-1:9092 , kafka-2:9093 "})
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9093"


def test_a_bracketed_ipv6_bootstrap_server_is_accepted() -> None:
    settings = load_settings({"KAFKA_BOOTSTRAP_SERVERS": "[::1]:9092"})
    assert settings.kafka_bootstrap_servers == "[::1]:9092"


@pytest.mark.parametrize(
    ("servers", "culprit"),
    [
        ("localhost", "'localhost' is not host:port"),
        (":9092", "':9092' is not host:port"),
        ("kafka:", "'kafka:' is not host:port"),
        ("kafka:ninety", "'kafka:ninety' is not host:port"),
        ("kafka-1:9092,,kafka-2:9092", "'' is not host:port"),
        ("kafka-1:9092,kafka-2", "'kafka-2' is not host:port"),
        ("kafka:0", "'kafka:0' has a port outside 1 to 65535"),
        ("kafka:65536", "'kafka:65536' has a port outside 1 to 65535"),
    ],
)
def test_a_bad_bootstrap_list_is_refused_naming_the_variable_and_the_server(
    servers: str, culprit: str
) -> None:
    message = refusal(KAFKA_BOOTSTRAP_SERVERS=servers)
    assert f"KAFKA_BOOTSTRAP_SERVERS={servers!r}" in message
    assert culprit in message


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["ALERTFOLD_API_PORT", "ALERTFOLD_KAFKA_PORT"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http", "valid integer"),
        ("0", "greater than or equal to 1"),
        ("65536", "less than or equal to 65535"),
    ],
)
def test_a_bad_port_is_refused_naming_the_variable(variable: str, value: str, problem: str) -> None:
    message = refusal(**{variable: value})
    assert f"{variable}={value!r}" in message
    assert problem in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [("0", "greater than or equal to 1"), ("1025", "less than or equal to 1024"), ("eight", "")],
)
def test_a_bad_partition_count_is_refused_naming_the_variable(value: str, problem: str) -> None:
    message = refusal(ALERTFOLD_PARTITIONS=value)
    assert f"ALERTFOLD_PARTITIONS={value!r}" in message
    assert problem in message


def test_a_body_limit_below_one_kilobyte_is_refused() -> None:
    message = refusal(ALERTFOLD_MAX_BODY_BYTES="512")
    assert "ALERTFOLD_MAX_BODY_BYTES='512'" in message
    assert "greater than or equal to 1024" in message


# -- log level and files ----------------------------------------------------------------------


def test_an_unknown_log_level_is_refused_listing_the_known_ones() -> None:
    message = refusal(ALERTFOLD_LOG_LEVEL="verbose")
    assert "ALERTFOLD_LOG_LEVEL='verbose'" in message
    assert "'debug', 'info', 'warning' or 'error'" in message


def test_a_routes_file_that_exists_is_accepted(tmp_path: Path) -> None:
    routes = tmp_path / "routes.json"
    routes.write_text("[]", encoding="utf-8")
    assert load_settings({"ALERTFOLD_ROUTES_FILE": str(routes)}).routes_file == routes


@pytest.mark.parametrize("name", ["missing.json", "."])
def test_a_routes_file_that_is_not_a_file_is_refused_naming_the_variable(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    message = refusal(ALERTFOLD_ROUTES_FILE=str(path))
    assert f"ALERTFOLD_ROUTES_FILE={str(path)!r}" in message
    assert f"{path} is not a readable file" in message


# -- the refusal ------------------------------------------------------------------------------


def test_every_bad_value_is_listed_on_its_own_line() -> None:
    message = refusal(
        ALERTFOLD_API_PORT="http", ALERTFOLD_PARTITIONS="0", ALERTFOLD_LOG_LEVEL="loud"
    )
    lines = message.splitlines()
    assert lines[0] == "invalid settings:"
    assert [line.split("=", 1)[0].strip() for line in lines[1:]] == [
        "ALERTFOLD_PARTITIONS",
        "ALERTFOLD_API_PORT",
        "ALERTFOLD_LOG_LEVEL",
    ]


def test_a_refusal_is_a_settings_error_not_a_validation_error() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"ALERTFOLD_API_PORT": "http"})
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_refused_database_url_never_shows_its_password() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"DATABASE_URL": "oracle://app:s3cret@db/alerts"})
    assert "s3cret" not in str(refused.value)
    assert "oracle://app:***@db/alerts" in str(refused.value)
