"""The answer to Slack's requests, shared by Socket Mode and HTTP mode: every piece an
interaction needs (the lookup view, publishers, permissions, admins, the issue's current
message, webhook clicks) built once from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from gateways.alert_publisher import AlertPublisher
from gateways.silence_publisher import SilencePublisher
from gateways.slack.acks import Acknowledger
from gateways.slack.current_message import IssueMessages, SlackMessageMetadata
from gateways.slack.interactions import SlackInteractions, ephemeral_teller
from gateways.slack.permissions import SlackPermissions
from gateways.slack.surface_context import Surfaces
from gateways.slack.usergroups import Admins, UserGroupMembers, slack_group_lister
from gateways.slack.webhook_clicks import WebhookClicks

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from infra.kafka_clients import KafkaConnection
    from infra.settings import Settings
    from infra.webhook_sealing import WebhookSealer
    from projections.lookup_store import LookupStore


def slack_acknowledger(
    settings: Settings,
    kafka: KafkaConnection,
    clock: Callable[[], datetime],
    finder: LookupStore,
    sealer: WebhookSealer | None,
    web_client: AsyncWebClient,
) -> Acknowledger:
    messages = IssueMessages(finder, SlackMessageMetadata(web_client))
    publisher = AlertPublisher(kafka, settings.interactions_topic)
    permissions = SlackPermissions.from_file(settings.slack_permissions_file)
    admins = Admins(permissions, UserGroupMembers(slack_group_lister(web_client)))
    tell = ephemeral_teller(web_client)
    surfaces = Surfaces(
        finder=finder,
        interactions=publisher,
        alerts=AlertPublisher(kafka, settings.alerts_topic),
        admins=admins,
        slack=web_client,
        tell=tell,
        clock=clock,
        silences=SilencePublisher(publisher, settings.interactions_topic, clock),
        public_url=settings.effective_public_url,
        messages=messages,
        silence_durations=settings.silence_durations,
        markup=settings.slack_alert_markup,
    )
    interactions = SlackInteractions(
        finder=finder,
        publisher=publisher,
        permissions=permissions,
        tell=tell,
        clock=clock,
        admins=admins,
        surfaces=surfaces,
        webhook_clicks=WebhookClicks(
            finder=finder,
            publisher=publisher,
            admins=admins,
            sealer=sealer,
            tell=tell,
            clock=clock,
            messages=messages,
        ),
        messages=messages,
    )
    return Acknowledger(interactions, tell)
