"""Every Socket Mode envelope is answered within Slack's 3 s, even while Kafka is slow.

The gateway (real slack_sdk Socket Mode and Web API clients) talks to the Socket Mode
stand-in, which keeps Slack's deadline; Kafka is replaced by a publisher that takes longer
than Slack waits, then fails, as a producer does when the broker is away.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.acks import DID_NOT_TAKE, Acknowledger
from gateways.slack.interactions import SlackInteractions, ephemeral_teller
from gateways.slack.permissions import SlackPermissions
from gateways.slack.socket_gateway import SocketModeGateway
from harness.slack_server import BOT_TOKEN
from harness.slack_socket_mode import APP_TOKEN, SocketModeStandIn, socket_mode_stand_in
from harness.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ISSUE = {
    "id": "issue-1",
    "channel_id": "C1",
    "correlation_id": "db",
    "status": "open",
    "header": "Database down",
    "slack_ts": "1795426000.000100",
}
KAFKA_SECONDS = 5.0  # longer than Slack waits


class View:
    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        return dict(ISSUE) if issue_id == ISSUE["id"] else None

    def issue_by_slack_ts(self, channel_id: str, slack_ts: str) -> dict[str, Any] | None:
        return dict(ISSUE) if (channel_id, slack_ts) == ("C1", ISSUE["slack_ts"]) else None

    def list_issues(self, *, channel_id: str, status: str, limit: int) -> list[dict[str, Any]]:
        return [dict(ISSUE)]


class SlowKafka:
    async def publish(self, records: Sequence[tuple[str, bytes]]) -> None:
        await asyncio.sleep(KAFKA_SECONDS)
        raise BrokerUnavailable("KafkaTimeoutError")


@pytest.fixture
def slack() -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in() as stand_in:
        yield stand_in


@pytest.fixture
def gateway(slack: SocketModeStandIn) -> Iterator[None]:
    loop = asyncio.new_event_loop()
    web = AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
    tell = ephemeral_teller(web)
    interactions = SlackInteractions(
        finder=View(),
        publisher=SlowKafka(),
        permissions=SlackPermissions(),
        tell=tell,
        clock=lambda: datetime.now(UTC),
    )
    running = SocketModeGateway(APP_TOKEN, web, Acknowledger(interactions, tell))
    thread = threading.Thread(target=loop.run_until_complete, args=(running.run(),))
    thread.start()
    slack.wait_for_connection()
    yield
    asyncio.run_coroutine_threadsafe(running.stop(), loop).result(10)
    thread.join(10)


def click(action_id: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0ANN", "name": "ann"},
        "container": {"channel_id": "C1", "message_ts": ISSUE["slack_ts"]},
        "actions": [{"action_id": action_id, "value": "issue-1", "action_ts": "1795426100.1"}],
    }


def test_a_button_is_acknowledged_in_time_and_the_user_told_when_it_did_not_take(
    slack: SocketModeStandIn, gateway: None
) -> None:
    envelope = slack.send("interactive", click("alertfold:resolve"))
    slack.wait_for_ack(envelope)
    assert slack.ack_seconds[envelope] < 3
    told = eventually(
        lambda: [e for e in slack.ephemerals if e.get("user") == "U0ANN"],
        timeout=KAFKA_SECONDS * 3,
        what="the user told that it did not take",
    )
    assert (told[0]["channel"], told[0]["text"]) == ("C1", DID_NOT_TAKE)


def test_a_slash_command_is_answered_in_time_while_kafka_is_slow(
    slack: SocketModeStandIn, gateway: None
) -> None:
    command = {"channel_id": "C1", "user_id": "U0ANN", "text": "resolve issue-1"}
    envelope = slack.send("slash_commands", command)
    answer = slack.wait_for_ack(envelope)
    assert slack.ack_seconds[envelope] < 3
    assert "slow" in answer["payload"]["text"]


def test_a_reaction_not_stored_in_time_is_left_for_slack_to_send_again(
    slack: SocketModeStandIn, gateway: None
) -> None:
    reaction = {
        "event_id": "Ev1",
        "event": {
            "type": "reaction_added",
            "user": "U0ANN",
            "reaction": "white_check_mark",
            "item": {"type": "message", "channel": "C1", "ts": ISSUE["slack_ts"]},
            "event_ts": "1795426100.000200",
        },
    }
    envelope = slack.send("events_api", reaction)
    eventually(lambda: slack.deliveries(envelope) >= 2, timeout=10, what="the event sent again")
    assert envelope not in slack.acks
