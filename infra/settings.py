"""Settings, read once from the environment and validated before anything starts.

Every knob is an environment variable so the same image runs on a laptop, in CI and under
docker-compose; a bad value stops start-up with one line per problem that names the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

LogLevel = Literal["debug", "info", "warning", "error"]
# Shorter keys are guessable; 16 printable characters is the least a random key should have.
MIN_API_KEY_LENGTH = 16
# Fields whose values never appear in a message (the database URL only loses its password).
_SECRET_FIELDS = (
    "slack_bot_token",
    "slack_app_token",
    "slack_signing_secret",
    "ingest_api_keys",
    "view_api_keys",
    "webhook_encryption_key",
    "pagerduty_webhook_secrets",
    "secrets_key",
)
# The URL forms `infra.database.create_database_engine` builds an engine for, driver names
# included, so a URL the database layer supports is never refused before it gets there.
_DATABASE_URL_PREFIXES = (
    "sqlite:///",
    "sqlite+pysqlite:///",
    "postgresql://",
    "postgresql+psycopg://",
    "postgres://",
)


# The parts `alertfold up` may run several of (ALERTFOLD_REPLICAS); workers have their own
# setting, and API replicas would all listen on ALERTFOLD_API_PORT.
REPLICABLE_PARTS = ("projector", "auditor", "presenter", "notifier", "interactions")
MAX_REPLICAS = 16


class SettingsError(Exception):
    """The environment holds values alertfold cannot run with; the message lists them."""


class Settings(BaseModel):
    """What the processes need to know; the README's settings table documents each field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kafka_bootstrap_servers: str | None = Field(
        None, description="Kafka to use; unset means the embedded local broker."
    )
    data_dir: Path = Field(Path(".alertfold"), description="Local broker data and SQLite views.")
    cache_dir: Path = Field(Path(".cache"), description="Downloaded Kafka jars.")
    database_url: str | None = Field(None, description="sqlite:///… or postgresql://…", repr=False)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    kafka_port: int = Field(9092, ge=1, le=65535)
    partitions: int = Field(8, ge=1, le=1024)
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    routes_file: Path | None = None
    max_body_bytes: int = Field(1_048_576, ge=1024)
    ingest_api_keys: tuple[str, ...] = Field(
        (), repr=False, description="Bearer keys for the ingest routes; empty: open."
    )
    view_api_keys: tuple[str, ...] = Field(
        (), repr=False, description="Bearer keys for the view routes and /metrics; empty: open."
    )
    rate_limit_per_second: float = Field(
        0, ge=0, le=1_000_000, description="Alerts per second per channel at ingest; 0: off."
    )
    rate_limit_burst: int = Field(
        30, ge=1, le=1_000_000, description="Alerts a channel may send at once at ingest."
    )
    slack_bot_token: str | None = Field(None, repr=False)
    slack_app_token: str | None = Field(
        None,
        repr=False,
        description="App-level token (xapp-…) for Socket Mode; unset: no interactions.",
    )
    slack_signing_secret: str | None = Field(
        None,
        repr=False,
        description="The Slack app's signing secret: the API serves Slack's Request URLs "
        "(HTTP mode) under /slack/; unset: they answer 404.",
    )
    slack_permissions_file: Path | None = Field(
        None, description="JSON file of Slack admins (global and per channel)."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/",
        pattern=r"^https?://\S+$",
        description="Slack Web API base URL (a stand-in's in tests).",
    )
    slack_calls_per_second: float = Field(
        1.0, gt=0, le=100, description="Slack calls per second per channel, at most."
    )
    slack_tier3_calls_per_minute: float = Field(
        50.0,
        gt=0,
        le=6000,
        description="Calls per minute of each Slack Tier 3 method (chat.update, chat.delete, "
        "conversations.history, conversations.replies) for all channels together.",
    )
    slack_alert_markup: Literal["escaped", "mrkdwn"] = Field(
        "escaped",
        description="How alert text is shown: escaped (as written, nothing in it links or "
        "notifies) or mrkdwn (its links kept; broadcasts and mentions still shown as text).",
    )
    slack_archived_message: Literal["keep", "mark"] = Field(
        "keep",
        description="What an archived issue's message becomes: kept as last shown, or "
        "marked archived (no buttons).",
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="The API's address as people open it, for links in Slack (issue history); "
        "unset: http://ALERTFOLD_API_HOST:ALERTFOLD_API_PORT.",
    )
    webhook_encryption_key: str | None = Field(
        None,
        repr=False,
        description="AES-256-GCM key (32 ASCII letters and digits) sealing webhook URLs and "
        "payloads; unset: alerts with webhooks are refused at the API.",
    )
    pagerduty_webhook_secrets: tuple[str, ...] = Field(
        (),
        repr=False,
        description="Secrets of the PagerDuty webhook subscriptions; empty: the endpoint is off.",
    )
    log_level: LogLevel = "info"
    log_format: Literal["text", "json"] = Field(
        "text", description="text for people, json for a log pipeline (one object per line)."
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address of each part's /metrics and /health endpoint."
    )
    metrics_port: int = Field(
        9400,
        ge=0,
        le=65380,
        description="Base port of the parts' endpoints (each part at its offset, README "
        "'Metrics'); 0: none.",
    )
    tick_seconds: float = Field(
        1.0,
        ge=0,
        le=3600,
        description="How often the clock emits a tick to every partition; 0 turns the clock "
        "off (ticks then come from elsewhere, e.g. tests that drive time themselves).",
    )
    retain_closed_issues_days: float = Field(
        180, gt=0, description="Age after which closed issues leave the read models."
    )
    retain_alerts_days: float = Field(
        30, gt=0, description="Age after which alert bodies leave the read models."
    )
    retention_interval_seconds: float = Field(
        3600, ge=1, description="How often the projector applies retention."
    )
    secrets_key: str | None = Field(
        None,
        repr=False,
        description="32 random bytes, base64: encrypts notification channels' secrets at "
        "rest (AES-256-GCM); required once a channel has a secret.",
    )
    notification_channels_file: Path | None = Field(
        None, description="JSON file of notification channels (read-only through the API)."
    )
    notify_attempts: int = Field(4, ge=1, le=20, description="Attempts per notification.")
    notify_first_backoff_seconds: float = Field(
        1.0, ge=0, le=3600, description="Pause before the second attempt; doubles after."
    )
    notify_max_backoff_seconds: float = Field(
        60.0, ge=0, le=86400, description="Longest pause between two attempts."
    )
    notify_timeout_seconds: float = Field(
        10.0, gt=0, le=600, description="How long one notification attempt may take."
    )
    workers: int = Field(
        1, ge=1, le=MAX_REPLICAS, description="Fold worker processes `alertfold up` runs."
    )
    replicas: tuple[tuple[str, int], ...] = Field(
        (),
        description="Processes of other parts `alertfold up` runs, e.g. presenter=2; "
        "one of each part not named.",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        servers = [server.strip() for server in value.split(",")]
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not (port.isascii() and port.isdigit()):
                raise ValueError(f"{server!r} is not host:port")
            if not 1 <= int(port) <= 65535:
                raise ValueError(f"{server!r} has a port outside 1 to 65535")
        # Kafka clients split the list on commas: spaces around the entries must go.
        return ",".join(servers)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(_DATABASE_URL_PREFIXES):
            raise ValueError("must start with sqlite:///, postgresql:// or postgres://")
        return value

    @field_validator("ingest_api_keys", "view_api_keys", mode="before")
    @classmethod
    def _check_api_keys(cls, value: object) -> object:
        """Comma-separated keys; each long and plain enough to be a bearer token."""
        if not isinstance(value, str):
            return value
        keys = tuple(key.strip() for key in value.split(",") if key.strip())
        for position, key in enumerate(keys, start=1):
            if len(key) < MIN_API_KEY_LENGTH:
                raise ValueError(f"key {position} is shorter than {MIN_API_KEY_LENGTH} characters")
            if not all("!" <= char <= "~" for char in key):
                raise ValueError(
                    f"key {position} has a character other than printable ASCII (no spaces)"
                )
        return keys

    @field_validator("webhook_encryption_key")
    @classmethod
    def _check_webhook_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from infra.webhook_sealing import check_key

        return check_key(value)

    @field_validator("pagerduty_webhook_secrets", mode="before")
    @classmethod
    def _check_pagerduty_secrets(cls, value: object) -> object:
        """Comma-separated: during a rotation both the old and the new secret are valid."""
        if not isinstance(value, str):
            return value
        secrets = tuple(secret.strip() for secret in value.split(",") if secret.strip())
        for position, secret in enumerate(secrets, start=1):
            if not all("!" <= char <= "~" for char in secret):
                raise ValueError(
                    f"secret {position} has a character other than printable ASCII (no spaces)"
                )
        return secrets

    @field_validator("replicas", mode="before")
    @classmethod
    def _check_replicas(cls, value: object) -> object:
        """`part=count,…`: each part once, a known one, with a count `up` can run."""
        if not isinstance(value, str):
            return value
        counts: dict[str, int] = {}
        for entry in (e.strip() for e in value.split(",") if e.strip()):
            part, sep, count = (text.strip() for text in entry.partition("="))
            if not sep or not count.isdigit():
                raise ValueError(f"{entry!r} is not part=count (e.g. presenter=2)")
            if part == "api":
                raise ValueError(
                    "the API cannot have replicas under `alertfold up`: they would all listen "
                    "on ALERTFOLD_API_PORT; run `alertfold api` processes on their own ports "
                    "behind a load balancer instead"
                )
            if part == "worker":
                raise ValueError("set the number of workers with ALERTFOLD_WORKERS")
            if part not in REPLICABLE_PARTS:
                raise ValueError(
                    f"unknown part {part!r}; parts with replicas: {', '.join(REPLICABLE_PARTS)}"
                )
            if part in counts:
                raise ValueError(f"{part} is given twice")
            if not 1 <= int(count) <= MAX_REPLICAS:
                raise ValueError(f"{part}'s count must be 1 to {MAX_REPLICAS}, not {count}")
            counts[part] = int(count)
        return tuple(counts.items())

    def replicas_of(self, part: str) -> int:
        """How many processes of the part `alertfold up` runs."""
        return self.workers if part == "worker" else dict(self.replicas).get(part, 1)

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from infra.secret_box import parse_key

        parse_key(value)
        return value.strip()

    @field_validator("routes_file", "slack_permissions_file", "notification_channels_file")
    @classmethod
    def _check_readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'alertfold.db').resolve()}"

    @property
    def audit_database_url(self) -> str:
        """The audit store: the PostgreSQL database of `DATABASE_URL` (its own tables), else
        a SQLite file of its own, so the lookup view's file can be deleted and rebuilt alone."""
        if self.database_url and self.database_url.startswith(("postgresql", "postgres://")):
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'audit.db').resolve()}"

    @property
    def dry_run(self) -> bool:
        """Without a bot token nothing is sent to Slack; what would be posted is logged."""
        return not self.slack_bot_token

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def alerts_topic(self) -> str:
        return self.topic("alerts")

    @property
    def interactions_topic(self) -> str:
        return self.topic("interactions")

    @property
    def ticks_topic(self) -> str:
        return self.topic("ticks")

    @property
    def alerts_dlq_topic(self) -> str:
        return self.topic("alerts.dlq")

    @property
    def issue_events_topic(self) -> str:
        return self.topic("issue-events")

    @property
    def fold_state_topic(self) -> str:
        return self.topic("fold-state")

    @property
    def notifications_dlq_topic(self) -> str:
        return self.topic("notifications.dlq")

    @property
    def app_id(self) -> str:
        return f"{self.topic_prefix}alertfold"


# Environment variable → settings field. Kept explicit so the README table can't drift.
ENVIRONMENT: dict[str, str] = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
    "ALERTFOLD_DATA_DIR": "data_dir",
    "ALERTFOLD_CACHE_DIR": "cache_dir",
    "DATABASE_URL": "database_url",
    "ALERTFOLD_API_HOST": "api_host",
    "ALERTFOLD_API_PORT": "api_port",
    "ALERTFOLD_KAFKA_PORT": "kafka_port",
    "ALERTFOLD_PARTITIONS": "partitions",
    "ALERTFOLD_TOPIC_PREFIX": "topic_prefix",
    "ALERTFOLD_ROUTES_FILE": "routes_file",
    "ALERTFOLD_MAX_BODY_BYTES": "max_body_bytes",
    "ALERTFOLD_INGEST_API_KEYS": "ingest_api_keys",
    "ALERTFOLD_VIEW_API_KEYS": "view_api_keys",
    "ALERTFOLD_RATE_LIMIT_PER_SECOND": "rate_limit_per_second",
    "ALERTFOLD_RATE_LIMIT_BURST": "rate_limit_burst",
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_APP_TOKEN": "slack_app_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "ALERTFOLD_SLACK_PERMISSIONS_FILE": "slack_permissions_file",
    "SLACK_API_URL": "slack_api_url",
    "ALERTFOLD_SLACK_CALLS_PER_SECOND": "slack_calls_per_second",
    "ALERTFOLD_SLACK_TIER3_CALLS_PER_MINUTE": "slack_tier3_calls_per_minute",
    "ALERTFOLD_SLACK_ALERT_MARKUP": "slack_alert_markup",
    "ALERTFOLD_SLACK_ARCHIVED_MESSAGE": "slack_archived_message",
    "ALERTFOLD_PUBLIC_URL": "public_url",
    "ALERTFOLD_WEBHOOK_ENCRYPTION_KEY": "webhook_encryption_key",
    "ALERTFOLD_PAGERDUTY_WEBHOOK_SECRETS": "pagerduty_webhook_secrets",
    "ALERTFOLD_LOG_LEVEL": "log_level",
    "ALERTFOLD_LOG_FORMAT": "log_format",
    "ALERTFOLD_METRICS_HOST": "metrics_host",
    "ALERTFOLD_METRICS_PORT": "metrics_port",
    "ALERTFOLD_TICK_SECONDS": "tick_seconds",
    "ALERTFOLD_RETAIN_CLOSED_ISSUES_DAYS": "retain_closed_issues_days",
    "ALERTFOLD_RETAIN_ALERTS_DAYS": "retain_alerts_days",
    "ALERTFOLD_RETENTION_INTERVAL_SECONDS": "retention_interval_seconds",
    "ALERTFOLD_SECRETS_KEY": "secrets_key",
    "ALERTFOLD_NOTIFICATION_CHANNELS_FILE": "notification_channels_file",
    "ALERTFOLD_NOTIFY_ATTEMPTS": "notify_attempts",
    "ALERTFOLD_NOTIFY_FIRST_BACKOFF_SECONDS": "notify_first_backoff_seconds",
    "ALERTFOLD_NOTIFY_MAX_BACKOFF_SECONDS": "notify_max_backoff_seconds",
    "ALERTFOLD_NOTIFY_TIMEOUT_SECONDS": "notify_timeout_seconds",
    "ALERTFOLD_WORKERS": "workers",
    "ALERTFOLD_REPLICAS": "replicas",
}
_VARIABLE_OF = {field: variable for variable, field in ENVIRONMENT.items()}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment (plus explicit overrides), or a `SettingsError`."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {
        field: environ[variable]
        for variable, field in ENVIRONMENT.items()
        if environ.get(variable, "") != ""
    }
    if isinstance(values.get("log_level"), str):
        values["log_level"] = str(values["log_level"]).lower()
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            field = str(detail["loc"][0]) if detail["loc"] else "?"
            name = _VARIABLE_OF.get(field, field)
            given = _shown(field, values.get(field))
            problems.append(f"{name}={given}: {detail['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None


def _shown(field: str, value: object) -> str:
    """A value as an error message may show it: secrets never appear in logs."""
    if field in _SECRET_FIELDS:
        return "(hidden)"
    if field == "database_url" and isinstance(value, str):
        return repr(re.sub(r"://([^:/@]*):[^/]*@", r"://\1:***@", value))
    return repr(value)
