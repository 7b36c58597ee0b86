"""Settings, read once from the environment (and the config file) and validated before
anything starts.

Every knob is an environment variable so the same image runs on a laptop, in CI and under
docker-compose; the same knobs may be written in one YAML file instead (`ALERTFOLD_CONFIG`,
see `infra.config_file`), and the environment wins over it. A bad value stops start-up with
one line per problem that names the variable, or the file and line, and never shows a secret.

Adding a setting is one field below, made by `setting(variable, "section.key", default, …)`
with the type and constraints that check it; the environment, the config file, the refusals
and `alertfold config show` all follow from that field. Then give it a row in the README's
settings table and its key in the config file table (tests compare both with the fields).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from domain.silences import DEFAULT_SILENCE_DURATIONS
from infra.settings_fields import CONFIG_VARIABLE, SettingsError, declarations, setting
from infra.settings_sources import Resolved, resolve
from infra.settings_values import (
    MAX_REPLICAS,
    ApiKeys,
    BootstrapServers,
    ChannelResendIntervals,
    DatabaseUrl,
    Days,
    DeduplicationWindow,
    LogLevel,
    OperatorKeys,
    ReadableFile,
    Replicas,
    ResendInterval,
    Seconds,
    SecretsKeys,
    SharedSecrets,
    SilenceDurations,
    WebhookKeys,
)
from infra.topic_names import TopicNames

__all__ = [
    "CONFIG_VARIABLE",
    "ENVIRONMENT",
    "Settings",
    "SettingsError",
    "load_settings",
    "resolve_settings",
]


class Settings(TopicNames, BaseSettings):
    """What the processes need to know; the README's settings table documents each field."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        case_sensitive=True,
        env_ignore_empty=True,
        # Lists are comma-separated text, never JSON: the value checks read them.
        enable_decoding=False,
        # A field's docstring is its description.
        use_attribute_docstrings=True,
    )

    # -- kafka ----------------------------------------------------------------------------------
    kafka_bootstrap_servers: BootstrapServers = setting(
        "KAFKA_BOOTSTRAP_SERVERS", "kafka.bootstrap_servers", None
    )
    """Kafka to use; unset means the embedded local broker."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = setting(
        "KAFKA_SECURITY_PROTOCOL", "kafka.security_protocol", "PLAINTEXT"
    )
    """How every Kafka client connects: plain, TLS (SSL), SASL, or SASL over TLS."""
    kafka_ssl_ca_file: ReadableFile = setting("KAFKA_SSL_CA_FILE", "kafka.ssl_ca_file", None)
    """PEM certificates of the CAs that signed the brokers'; unset: the system's trust store."""
    kafka_ssl_cert_file: ReadableFile = setting("KAFKA_SSL_CERT_FILE", "kafka.ssl_cert_file", None)
    """PEM client certificate (chain), for brokers that check clients' certificates."""
    kafka_ssl_key_file: ReadableFile = setting("KAFKA_SSL_KEY_FILE", "kafka.ssl_key_file", None)
    """The client certificate's unencrypted PEM private key."""
    kafka_ssl_check_hostname: bool = setting(
        "KAFKA_SSL_CHECK_HOSTNAME", "kafka.ssl_check_hostname", True
    )
    """Whether a broker's certificate must name the host connected to."""
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = setting(
        "KAFKA_SASL_MECHANISM", "kafka.sasl_mechanism", "PLAIN"
    )
    kafka_sasl_username: str | None = setting("KAFKA_SASL_USERNAME", "kafka.sasl_username", None)
    kafka_sasl_password: str | None = setting(
        "KAFKA_SASL_PASSWORD", "kafka.sasl_password", None, secret=True
    )
    kafka_port: int = setting("ALERTFOLD_KAFKA_PORT", "kafka.local_port", 9092, ge=1, le=65535)
    partitions: int = setting("ALERTFOLD_PARTITIONS", "kafka.partitions", 8, ge=1, le=1024)
    topic_prefix: str = setting(
        "ALERTFOLD_TOPIC_PREFIX", "kafka.topic_prefix", "", pattern=r"^[A-Za-z0-9._-]*$"
    )

    # -- storage, database, retention -----------------------------------------------------------
    data_dir: Path = setting("ALERTFOLD_DATA_DIR", "storage.data_dir", Path(".alertfold"))
    """Local broker data and SQLite views."""
    cache_dir: Path = setting("ALERTFOLD_CACHE_DIR", "storage.cache_dir", Path(".cache"))
    """Kafka jars."""
    database_url: DatabaseUrl = setting("DATABASE_URL", "database.url", None, repr=False)
    """sqlite:///…, postgresql://… or mysql://… (its password never shown)."""
    retain_closed_issues_days: Days = setting(
        "ALERTFOLD_RETAIN_CLOSED_ISSUES_DAYS", "retention.closed_issues_days", 180, gt=0
    )
    """Age after which closed issues leave the read models."""
    retain_alerts_days: Days = setting(
        "ALERTFOLD_RETAIN_ALERTS_DAYS", "retention.alerts_days", 30, gt=0
    )
    """Age after which alert bodies leave the read models."""
    retention_interval_seconds: Seconds = setting(
        "ALERTFOLD_RETENTION_INTERVAL_SECONDS", "retention.interval_seconds", 3600, ge=1
    )
    """How often the projector applies retention."""

    # -- api ------------------------------------------------------------------------------------
    api_host: str = setting("ALERTFOLD_API_HOST", "api.host", "127.0.0.1")
    api_port: int = setting("ALERTFOLD_API_PORT", "api.port", 8080, ge=1, le=65535)
    api_workers: int = setting("ALERTFOLD_API_WORKERS", "api.workers", 1, ge=1, le=64)
    """API processes sharing the port (uvicorn workers)."""
    public_url: str | None = setting(
        "ALERTFOLD_PUBLIC_URL", "api.public_url", None, pattern=r"^https?://\S+$"
    )
    """The API's address as people open it, for links in Slack and notifications; unset:
    http://ALERTFOLD_API_HOST:ALERTFOLD_API_PORT, or no links when that host is 0.0.0.0 or ::."""
    max_body_bytes: int = setting(
        "ALERTFOLD_MAX_BODY_BYTES", "api.max_body_bytes", 1_048_576, ge=1024
    )
    ingest_api_keys: ApiKeys = setting(
        "ALERTFOLD_INGEST_API_KEYS", "api.ingest_api_keys", (), secret=True
    )
    """Bearer keys for the ingest routes; empty: open."""
    view_api_keys: ApiKeys = setting(
        "ALERTFOLD_VIEW_API_KEYS", "api.view_api_keys", (), secret=True
    )
    """Bearer keys for the view routes and /metrics; empty: open."""
    operator_api_keys: OperatorKeys = setting(
        "ALERTFOLD_OPERATOR_API_KEYS", "api.operator_api_keys", (), secret=True
    )
    """Named bearer keys (name:key,…) of the people who act on issues, silence and change
    notification channels; empty: those routes as without them."""
    rate_limit_per_second: float = setting(
        "ALERTFOLD_RATE_LIMIT_PER_SECOND", "api.rate_limit_per_second", 0, ge=0, le=1_000_000
    )
    """Alerts per second per channel at ingest; 0: off."""
    rate_limit_burst: int = setting(
        "ALERTFOLD_RATE_LIMIT_BURST", "api.rate_limit_burst", 30, ge=1, le=1_000_000
    )
    """Alerts a channel may send at once at ingest."""

    # -- slack, pagerduty -----------------------------------------------------------------------
    slack_bot_token: str | None = setting("SLACK_BOT_TOKEN", "slack.bot_token", None, secret=True)
    slack_app_token: str | None = setting("SLACK_APP_TOKEN", "slack.app_token", None, secret=True)
    """App-level token (xapp-…) for Socket Mode; unset: no interactions."""
    slack_signing_secret: str | None = setting(
        "SLACK_SIGNING_SECRET", "slack.signing_secret", None, secret=True
    )
    """The Slack app's signing secret: the API serves Slack's Request URLs (HTTP mode) under
    /slack/; unset: they answer 404."""
    slack_permissions_file: ReadableFile = setting(
        "ALERTFOLD_SLACK_PERMISSIONS_FILE", "slack.permissions_file", None
    )
    """JSON file of Slack admins (global and per channel)."""
    slack_api_url: str = setting(
        "SLACK_API_URL", "slack.api_url", "https://slack.com/api/", pattern=r"^https?://\S+$"
    )
    """Slack Web API base URL (a stand-in's in tests)."""
    slack_calls_per_second: float = setting(
        "ALERTFOLD_SLACK_CALLS_PER_SECOND", "slack.calls_per_second", 1.0, gt=0, le=100
    )
    """Slack calls per second per channel, at most."""
    slack_tier3_calls_per_minute: float = setting(
        "ALERTFOLD_SLACK_TIER3_CALLS_PER_MINUTE",
        "slack.tier3_calls_per_minute",
        50.0,
        gt=0,
        le=6000,
    )
    """Calls per minute of each Slack Tier 3 method (chat.update, chat.delete,
    conversations.history, conversations.replies) for all channels together."""
    slack_alert_markup: Literal["escaped", "mrkdwn"] = setting(
        "ALERTFOLD_SLACK_ALERT_MARKUP", "slack.alert_markup", "escaped"
    )
    """How alert text is shown: escaped (as written, nothing in it links or notifies) or mrkdwn (its
    links kept; broadcasts and mentions still shown as text)."""
    slack_archived_message: Literal["keep", "mark"] = setting(
        "ALERTFOLD_SLACK_ARCHIVED_MESSAGE", "slack.archived_message", "keep"
    )
    """What an archived issue's message becomes: kept as last shown, or marked archived (no
    buttons)."""
    webhook_encryption_keys: WebhookKeys = setting(
        "ALERTFOLD_WEBHOOK_ENCRYPTION_KEY", "slack.webhook_encryption_key", (), secret=True
    )
    """AES-256-GCM keys (32 ASCII letters and digits each): the first seals webhook URLs and
    payloads, every one opens them (new,old during a rotation); none: alerts with webhooks are
    refused at the API."""
    pagerduty_webhook_secrets: SharedSecrets = setting(
        "ALERTFOLD_PAGERDUTY_WEBHOOK_SECRETS", "pagerduty.webhook_secrets", (), secret=True
    )
    """Secrets of the PagerDuty webhook subscriptions; empty: the endpoint is off."""

    # -- alerting -------------------------------------------------------------------------------
    routes_file: ReadableFile = setting("ALERTFOLD_ROUTES_FILE", "alerting.routes_file", None)
    tick_seconds: Seconds = setting(
        "ALERTFOLD_TICK_SECONDS", "alerting.tick_seconds", 1.0, ge=0, le=3600
    )
    """How often the clock emits a tick to every partition; 0 turns the clock off (ticks then come
    from elsewhere, e.g. tests that drive time themselves)."""
    resend_interval: ResendInterval = setting(
        "ALERTFOLD_RESEND_INTERVAL", "alerting.resend_interval", None
    )
    """How often an open, unacknowledged issue is reminded of; unset or 0: never."""
    channel_resend_intervals: ChannelResendIntervals = setting(
        "ALERTFOLD_CHANNEL_RESEND_INTERVALS", "alerting.channel_resend_intervals", ()
    )
    """Slack channels whose issues are reminded at their own interval (channel=duration,…)
    instead of resend_interval's; 0: never in that channel."""
    silence_durations: SilenceDurations = setting(
        "ALERTFOLD_SILENCE_DURATIONS", "alerting.silence_durations", DEFAULT_SILENCE_DURATIONS
    )
    """The silence lengths offered in Slack and on the web page."""
    deduplication_window: DeduplicationWindow = setting(
        "ALERTFOLD_DEDUPLICATION_WINDOW", "alerting.deduplication_window", None
    )
    """A repeat of a fire-and-forget alert within it counts once; unset or 0: off."""

    # -- notifications --------------------------------------------------------------------------
    notification_channels_file: ReadableFile = setting(
        "ALERTFOLD_NOTIFICATION_CHANNELS_FILE", "notifications.channels_file", None
    )
    """JSON file of notification channels (read-only through the API)."""
    secrets_keys: SecretsKeys = setting(
        "ALERTFOLD_SECRETS_KEY", "notifications.secrets_key", (), secret=True
    )
    """32 random bytes each, base64: the first encrypts notification channels' secrets at rest
    (AES-256-GCM), every one decrypts (new,old during a rotation); required once a channel has
    a secret."""
    notify_attempts: int = setting(
        "ALERTFOLD_NOTIFY_ATTEMPTS", "notifications.attempts", 4, ge=1, le=20
    )
    notify_first_backoff_seconds: Seconds = setting(
        "ALERTFOLD_NOTIFY_FIRST_BACKOFF_SECONDS",
        "notifications.first_backoff_seconds",
        1.0,
        ge=0,
        le=3600,
    )
    """Pause before the second attempt; doubles after."""
    notify_max_backoff_seconds: Seconds = setting(
        "ALERTFOLD_NOTIFY_MAX_BACKOFF_SECONDS",
        "notifications.max_backoff_seconds",
        60.0,
        ge=0,
        le=86400,
    )
    """Longest pause between two attempts."""
    notify_timeout_seconds: Seconds = setting(
        "ALERTFOLD_NOTIFY_TIMEOUT_SECONDS", "notifications.timeout_seconds", 10.0, gt=0, le=600
    )
    """How long one notification attempt may take."""

    # -- logging, up ----------------------------------------------------------------------------
    log_level: LogLevel = setting("ALERTFOLD_LOG_LEVEL", "logging.level", "info")
    log_format: Literal["text", "json"] = setting("ALERTFOLD_LOG_FORMAT", "logging.format", "text")
    """text for people, json for a log pipeline (one object per line)."""
    metrics_host: str = setting("ALERTFOLD_METRICS_HOST", "metrics.host", "127.0.0.1")
    """Address of each part's /metrics and /health endpoint."""
    metrics_port: int = setting("ALERTFOLD_METRICS_PORT", "metrics.port", 9400, ge=0, le=65380)
    """Base port of the parts' endpoints (each part at its offset, README 'Metrics'); 0: none."""
    workers: int = setting("ALERTFOLD_WORKERS", "up.workers", 1, ge=1, le=MAX_REPLICAS)
    """Fold worker processes `alertfold up` runs."""
    replicas: Replicas = setting("ALERTFOLD_REPLICAS", "up.replicas", ())
    """Processes of other parts `alertfold up` runs, e.g. presenter=2; one of each part not
    named."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: `load_settings` layers the environment and the file itself,
        so a `Settings(...)` built in code never reads the environment behind its back."""
        return (init_settings,)

    @field_validator("operator_api_keys")
    @classmethod
    def _keys_of_one_kind(
        cls, value: tuple[tuple[str, str], ...], info: ValidationInfo
    ) -> tuple[tuple[str, str], ...]:
        """A key opens one kind of route: the answer to a key of the wrong kind is a 403."""
        operators = {key for _, key in value}
        for variable, field in (
            ("ALERTFOLD_INGEST_API_KEYS", "ingest_api_keys"),
            ("ALERTFOLD_VIEW_API_KEYS", "view_api_keys"),
        ):
            if operators & set(info.data.get(field, ())):
                raise ValueError(f"shares a key with {variable}; each kind of key needs its own")
        return value

    def replicas_of(self, part: str) -> int:
        """How many processes of the part `alertfold up` runs."""
        return self.workers if part == "worker" else dict(self.replicas).get(part, 1)

    @property
    def effective_public_url(self) -> str:
        """Where people open the API, for links; empty (no links) when unset while the API
        listens on every address (0.0.0.0, ::), which is no address a browser can open."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if _listens_everywhere(self.api_host):
            return ""
        host = self.api_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # IPv6
        return f"http://{host}:{self.api_port}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'alertfold.db').resolve()}"

    @property
    def audit_database_url(self) -> str:
        """The audit store: the PostgreSQL or MySQL database of `DATABASE_URL` (its own
        tables), else a SQLite file of its own, so the lookup view's file can be deleted and
        rebuilt alone, and the two writers never wait for each other's lock."""
        if self.database_url and not self.database_url.startswith("sqlite"):
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'audit.db').resolve()}"

    @property
    def dry_run(self) -> bool:
        """Without a bot token nothing is sent to Slack; what would be posted is logged."""
        return not self.slack_bot_token


# Environment variable → settings field, for whoever must know which variables alertfold reads.
ENVIRONMENT: dict[str, str] = {one.variable: one.field for one in declarations(Settings)}


def _listens_everywhere(host: str) -> bool:
    """Whether `host` is the wildcard address (0.0.0.0, ::): a place to listen, not to link."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def resolve_settings(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    *,
    use_environment: bool = True,
) -> Resolved[Settings]:
    """Settings with the origin of each value (`alertfold config show`, `config check`)."""
    environ = os.environ if environ is None else environ
    return resolve(Settings, environ, {}, config_file, use_environment=use_environment)


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment and the config file it names (plus explicit overrides,
    which win; None leaves a setting alone), or a `SettingsError`."""
    environ = os.environ if environ is None else environ
    return resolve(Settings, environ, overrides).settings
