"""What the HTTP API needs from the rest of the system, passed in by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.routing import RouteTable
from domain.silences import DEFAULT_SILENCE_DURATIONS
from gateways.alert_publisher import AlertPublisher
from gateways.api.auth import Access, ApiKeys, OperatorKeys
from gateways.api.rate_limit import ChannelRateLimiter
from gateways.api.slack_http import SlackHttpMode
from gateways.notify.services import NotificationServices
from gateways.silence_publisher import SilencePublisher
from gateways.slack.channel_directory import ChannelDirectory
from gateways.web.live import IssueFeed
from infra.kafka_clients import KafkaConnection
from infra.webhook_sealing import WebhookSealer
from projections.audit_store import AuditStore
from projections.lookup_store import LookupStore
from projections.silence_catalog import SilenceCatalog


@dataclass(frozen=True)
class SilenceServices:
    publisher: SilencePublisher
    catalog: SilenceCatalog
    # Where the catalog reads silences from (partition 0 of `interactions`).
    kafka: KafkaConnection
    topic: str


@dataclass(frozen=True)
class ApiDependencies:
    publisher: AlertPublisher
    store: LookupStore
    routes: RouteTable
    clock: Callable[[], datetime]
    broker_check: Callable[[], Awaitable[tuple[bool, str]]]
    database_check: Callable[[], tuple[bool, str]]
    max_body_bytes: int
    # Issue history and past states; without it those endpoints answer 503.
    audit: AuditStore | None = field(default=None)
    # Keys for ingest and for the views (empty: open); the per-channel limit (None: off).
    ingest_keys: ApiKeys = field(default_factory=ApiKeys)
    view_keys: ApiKeys = field(default_factory=ApiKeys)
    # Named keys of the people who act, silence and change notification channels.
    operator_keys: OperatorKeys = field(default_factory=OperatorKeys)
    rate_limiter: ChannelRateLimiter | None = field(default=None)
    # Seals webhook URLs and payloads at ingest; None: alerts with webhooks are refused.
    webhook_sealer: WebhookSealer | None = field(default=None)
    # PagerDuty webhook subscription secrets (empty: the endpoint answers 404) and the topic
    # its acknowledgements go to.
    pagerduty_secrets: tuple[str, ...] = ()
    interactions_topic: str = "interactions"
    # Where the alerts the API sets aside go (Alertmanager's, taken one by one).
    alerts_dlq_topic: str = "alerts.dlq"
    # Notification channels and their delivery log; None: those endpoints answer 503.
    notifications: NotificationServices | None = field(default=None)
    # Setting and listing silences; None: those endpoints answer 503.
    silences: SilenceServices | None = field(default=None)
    # Slack's Request URLs (HTTP mode); None: `/slack/*` answers 404.
    slack: SlackHttpMode | None = field(default=None)
    # Channel names to ids and the bot's channels, from Slack; None: no bot token.
    channel_directory: ChannelDirectory | None = field(default=None)
    # The durations offered to silence one issue, as Slack's Silence… menu offers them
    # (ALERTFOLD_SILENCE_DURATIONS), for pages that offer the same.
    silence_durations: tuple[timedelta, ...] = DEFAULT_SILENCE_DURATIONS
    # Issue changes as they are decided, for the web page's live updates; None: no updates.
    issue_feed: IssueFeed | None = field(default=None)

    @property
    def access(self) -> Access:
        return Access(self.ingest_keys, self.view_keys, self.operator_keys)
