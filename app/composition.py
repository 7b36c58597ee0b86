"""The composition root: the one place that builds alertfold's parts from settings.

Each process (`worker`, `projector`, `auditor`, `presenter`, `notifier`, `api`) asks it for
its part; tests pass their own clock, routes or bootstrap address. Every Kafka client of
every part gets the one `KafkaConnection` built here from the settings. Nothing here does I/O
until a part is built and run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.routing import RouteTable
from infra.kafka_clients import KafkaConnection, kafka_connection
from infra.routes_file import load_routes
from infra.settings import Settings, SettingsError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from slack_sdk.web.async_client import AsyncWebClient

    from agents.fold_worker import FoldWorker
    from gateways.api.dependencies import SilenceServices
    from gateways.api.slack_http import SlackHttpMode
    from gateways.notify.dispatcher import NotificationDispatcher
    from gateways.notify.services import NotificationServices
    from gateways.slack.acks import Acknowledger
    from gateways.slack.channel_directory import ChannelDirectory
    from gateways.slack.dry_run import DryRunPresenter
    from gateways.slack.presenter import SlackPresenter
    from gateways.slack.socket_gateway import SocketModeGateway
    from infra.webhook_sealing import WebhookSealer
    from projections.audit_generations import AuditGenerations
    from projections.audit_runner import Auditor
    from projections.audit_store import AuditStore
    from projections.issue_event_sink import IssueEventSink
    from projections.lookup_store import LookupStore
    from projections.replay import Replay, ReplayTarget
    from projections.retention import RetentionPolicy
    from projections.runner import LookupProjector


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Alertfold:
    settings: Settings
    kafka: KafkaConnection
    routes: RouteTable
    clock: Callable[[], datetime] = field(default=utc_now)

    def worker(self) -> FoldWorker:
        from agents.channel_actors import InputTopics
        from agents.fold_worker import FoldWorker
        from agents.partition_owner import WorkerTopics
        from domain.alerting import AlertingSettings

        settings = self.settings
        return FoldWorker(
            kafka=self.kafka,
            topics=WorkerTopics(
                inputs=InputTopics(
                    settings.alerts_topic, settings.ticks_topic, settings.interactions_topic
                ),
                issue_events=settings.issue_events_topic,
                dead_letters=settings.alerts_dlq_topic,
                state=settings.fold_state_topic,
            ),
            group_id=f"{settings.app_id}-fold",
            transactional_prefix=settings.app_id,
            routes=self.routes,
            partitions=settings.partitions,
            clock=self.clock,
            tick_seconds=settings.tick_seconds,
            alerting=AlertingSettings.of(
                settings.resend_interval,
                settings.deduplication_window,
                settings.channel_resend_intervals,
            ),
        )

    def projector(self) -> LookupProjector:
        from projections.runner import LookupProjector

        return LookupProjector(
            kafka=self.kafka,
            topic=self.settings.issue_events_topic,
            store=self.lookup_store(),
            retention=self.retention_policy(),
            retention_interval=self.settings.retention_interval_seconds,
            clock=self.clock,
        )

    def retention_policy(self) -> RetentionPolicy:
        from projections.retention import RetentionPolicy

        return RetentionPolicy.of_days(
            closed_issues=self.settings.retain_closed_issues_days,
            alerts=self.settings.retain_alerts_days,
        )

    def replay_targets(self) -> list[ReplayTarget]:
        """Every read model `alertfold replay` rebuilds."""
        from projections.audit_generations import AuditReplayTarget
        from projections.lookup_replay import LookupReplayTarget

        return [
            LookupReplayTarget(
                store=self.lookup_store(),
                topic=self.settings.issue_events_topic,
                retention=self.retention_policy(),
            ),
            AuditReplayTarget(
                generations=self.audit_generations(),
                database_url=self.settings.audit_database_url,
                topic=self.settings.issue_events_topic,
            ),
        ]

    def replay(self, *, processes: int | None = None) -> Replay:
        """The replay; a large log is read by `processes` (default: by its size)."""
        from projections.replay import Replay

        return Replay(
            kafka=self.kafka,
            topic=self.settings.issue_events_topic,
            targets=self.replay_targets(),
            clock=self.clock,
            parts=ReplayProcessParts(self.settings, self.kafka.servers),
            processes=processes,
        )

    def presenter(self) -> SlackPresenter | DryRunPresenter:
        """The Slack presenter with a bot token; without one, the dry run that only logs."""
        from gateways.slack.dry_run import DryRunPresenter
        from gateways.slack.presenter import SlackPresenter
        from gateways.slack.web_api import SlackMessages
        from gateways.slack.workspace_budget import WorkspaceBudget, tier_3

        settings = self.settings
        group_id = f"{settings.app_id}-slack-presenter"
        if settings.slack_bot_token is None:
            return DryRunPresenter(
                self.kafka,
                settings.issue_events_topic,
                group_id=group_id,
                markup=settings.slack_alert_markup,
            )
        return SlackPresenter(
            self.kafka,
            settings.issue_events_topic,
            settings.interactions_topic,
            group_id,
            SlackMessages(settings.slack_bot_token, settings.slack_api_url),
            clock=self.clock,
            calls_per_second=settings.slack_calls_per_second,
            budget=WorkspaceBudget(tier_3(settings.slack_tier3_calls_per_minute)),
            markup=settings.slack_alert_markup,
            archived_message=settings.slack_archived_message,
            silence_durations=settings.silence_durations,
        )

    def interactions(self) -> SocketModeGateway:
        """Slack interactions over Socket Mode; needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN."""
        from gateways.slack.socket_gateway import SocketModeGateway

        settings = self.settings
        if not settings.slack_app_token or not settings.slack_bot_token:
            raise SettingsError("Slack interactions need SLACK_APP_TOKEN and SLACK_BOT_TOKEN")
        web_client = self._slack_client(settings.slack_bot_token)
        return SocketModeGateway(
            settings.slack_app_token, web_client, self.slack_acknowledger(web_client)
        )

    def slack_http_mode(self) -> SlackHttpMode | None:
        """Slack's Request URLs in the API, with SLACK_SIGNING_SECRET (and the bot token)."""
        from gateways.api.slack_http import SlackHttpMode

        settings = self.settings
        if not settings.slack_signing_secret:
            return None
        if not settings.slack_bot_token:
            raise SettingsError("SLACK_SIGNING_SECRET (HTTP mode) needs SLACK_BOT_TOKEN too")
        web_client = self._slack_client(settings.slack_bot_token)
        return SlackHttpMode(
            acks=self.slack_acknowledger(web_client),
            signing_secret=settings.slack_signing_secret,
            clock=lambda: self.clock().timestamp(),
        )

    def slack_acknowledger(self, web_client: AsyncWebClient) -> Acknowledger:
        """What both Socket Mode and HTTP mode answer Slack's requests with."""
        from app.slack_acknowledger import slack_acknowledger

        return slack_acknowledger(
            self.settings,
            self.kafka,
            self.clock,
            self.lookup_store(),
            self.webhook_sealer(),
            web_client,
        )

    def channel_directory(self) -> ChannelDirectory | None:
        """Channel names to ids, from Slack; None without a bot token."""
        from gateways.slack.channel_directory import ChannelDirectory

        token = self.settings.slack_bot_token
        return ChannelDirectory(self._slack_client(token)) if token else None

    def _slack_client(self, token: str) -> AsyncWebClient:
        from slack_sdk.web.async_client import AsyncWebClient

        return AsyncWebClient(token=token, base_url=self.settings.slack_api_url)

    def lookup_store(self) -> LookupStore:
        from infra.database import create_database_engine
        from projections.lookup_store import LookupStore

        store = LookupStore(create_database_engine(self.settings.effective_database_url))
        store.create_schema()
        return store

    def auditor(self) -> Auditor:
        from projections.audit_runner import Auditor

        return Auditor(
            kafka=self.kafka,
            topic=self.settings.issue_events_topic,
            store=self.audit_store(),
        )

    def audit_store(self) -> AuditStore:
        """The live audit generation's store, following replays' switches."""
        return self.audit_generations().live_store()

    def audit_generations(self) -> AuditGenerations:
        from infra.database import create_database_engine
        from projections.audit_generations import AuditGenerations

        registry = create_database_engine(self.settings.effective_database_url)
        return AuditGenerations(registry, self.settings.audit_database_url)

    def api(self) -> FastAPI:
        from gateways.alert_publisher import AlertPublisher
        from gateways.api.app import create_api
        from gateways.api.auth import ApiKeys, OperatorKeys, view_keys
        from gateways.api.dependencies import ApiDependencies
        from gateways.api.rate_limit import ChannelRateLimiter
        from gateways.web.issue_source import LookupIssueSource
        from gateways.web.live import IssueFeed
        from infra.database import database_reachable
        from infra.kafka_admin import broker_reachable

        store = self.lookup_store()
        kafka = self.kafka
        settings = self.settings
        limiter = (
            ChannelRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
            if settings.rate_limit_per_second > 0
            else None
        )
        return create_api(
            ApiDependencies(
                publisher=AlertPublisher(kafka, self.settings.alerts_topic),
                store=store,
                audit=self.audit_store(),
                routes=self.routes,
                clock=self.clock,
                broker_check=lambda: broker_reachable(kafka),
                database_check=lambda: database_reachable(store.engine),
                max_body_bytes=self.settings.max_body_bytes,
                ingest_keys=ApiKeys(settings.ingest_api_keys),
                view_keys=view_keys(settings.view_api_keys, settings.operator_api_keys),
                operator_keys=OperatorKeys(settings.operator_api_keys),
                rate_limiter=limiter,
                webhook_sealer=self.webhook_sealer(),
                pagerduty_secrets=settings.pagerduty_webhook_secrets,
                interactions_topic=settings.interactions_topic,
                alerts_dlq_topic=settings.alerts_dlq_topic,
                notifications=self.notification_services(),
                silences=self.silence_services(),
                slack=self.slack_http_mode(),
                channel_directory=self.channel_directory(),
                issue_feed=IssueFeed(
                    kafka,
                    settings.issue_events_topic,
                    LookupIssueSource(store).view_versions,
                ),
                silence_durations=settings.silence_durations,
            )
        )

    def silence_services(self) -> SilenceServices:
        from gateways.alert_publisher import AlertPublisher
        from gateways.api.dependencies import SilenceServices
        from gateways.silence_publisher import SilencePublisher
        from projections.silence_catalog import SilenceCatalog

        topic = self.settings.interactions_topic
        publisher = AlertPublisher(self.kafka, topic)
        return SilenceServices(
            publisher=SilencePublisher(publisher, topic, self.clock),
            catalog=SilenceCatalog(),
            kafka=self.kafka,
            topic=topic,
        )

    def notifier(self) -> NotificationDispatcher:
        """Delivers issue events to the notification channels (webhook, ntfy, e-mail, …)."""
        from gateways.notify.dispatcher import NotificationDispatcher
        from gateways.notify.retrying import RetryPolicy

        settings = self.settings
        services = self.notification_services()
        return NotificationDispatcher(
            self.kafka,
            settings.issue_events_topic,
            settings.notifications_dlq_topic,
            services.channels,
            services.deliveries,
            group_id=f"{settings.app_id}-notifier",
            policy=RetryPolicy(
                attempts=settings.notify_attempts,
                first_backoff=settings.notify_first_backoff_seconds,
                max_backoff=settings.notify_max_backoff_seconds,
            ),
            public_url=services.public_url,
            http_timeout=settings.notify_timeout_seconds,
            clock=self.clock,
        )

    def notification_services(self) -> NotificationServices:
        """Channels (database + channels file) and the delivery log, in the lookup database."""
        from gateways.notify.channel_store import ChannelStore
        from gateways.notify.channels import ChannelsFileError, load_channels_file
        from gateways.notify.delivery_log import DeliveryLog
        from gateways.notify.services import NotificationServices
        from infra.database import create_database_engine
        from infra.secret_box import SecretBox

        settings = self.settings
        engine = create_database_engine(settings.effective_database_url)
        path = settings.notification_channels_file
        try:
            declared = load_channels_file(path) if path is not None else []
        except ChannelsFileError as error:
            raise SettingsError(str(error)) from None
        channels = ChannelStore(
            engine, SecretBox.from_keys(settings.secrets_keys), declared, clock=self.clock
        )
        channels.create_schema()
        deliveries = DeliveryLog(engine, clock=self.clock)
        deliveries.create_schema()
        return NotificationServices(
            channels=channels,
            deliveries=deliveries,
            clock=self.clock,
            public_url=settings.effective_public_url,
            http_timeout=settings.notify_timeout_seconds,
        )

    def webhook_sealer(self) -> WebhookSealer | None:
        """Seals webhooks at the API and opens them on a click; None without a key."""
        from infra.webhook_sealing import WebhookSealer

        keys = self.settings.webhook_encryption_keys
        return WebhookSealer(*keys) if keys else None


def create_app(
    settings: Settings,
    *,
    bootstrap_servers: str | None = None,
    routes: RouteTable | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Alertfold:
    """Wire alertfold from settings; every dependency may be replaced by the caller."""
    servers = (
        bootstrap_servers or settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.kafka_port}"
    )
    if routes is None:
        routes = load_routes(settings.routes_file) if settings.routes_file else RouteTable([])
    kafka = kafka_connection(settings, servers)
    return Alertfold(settings=settings, kafka=kafka, routes=routes, clock=clock)


def configure_replay_logging(settings: Settings) -> None:
    """Logging for every process of a replay: the readers' start-up lines would break the
    progress bar, so below debug they are left out."""
    from infra.logs import configure_logging

    configure_logging(settings.log_level, "replay", settings.log_format)
    if settings.log_level != "debug":
        logging.getLogger("projections").setLevel(logging.WARNING)


@dataclass(frozen=True)
class ReplayProcessParts:
    """What each process of a replay builds for itself: its parts from the same settings."""

    settings: Settings
    bootstrap_servers: str

    def enter_process(self) -> None:
        from app.garbage_collector import tune_garbage_collector

        configure_replay_logging(self.settings)
        tune_garbage_collector()

    def kafka(self) -> KafkaConnection:
        return create_app(self.settings, bootstrap_servers=self.bootstrap_servers).kafka

    def sinks(self, generations: Mapping[str, int]) -> list[IssueEventSink]:
        alertfold = create_app(self.settings, bootstrap_servers=self.bootstrap_servers)
        return [target.sink(generations[target.name]) for target in alertfold.replay_targets()]


def api_app() -> FastAPI:
    """The API of the settings in the environment: what each of several API workers runs."""
    from infra.logs import configure_logging
    from infra.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, "api")
    return create_app(settings).api()
