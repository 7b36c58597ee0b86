"""Slack interactions end to end: Socket Mode envelope → Kafka → fold → view.

The real `slack_sdk` Socket Mode client (inside `alertfold interactions`) talks to a local
Socket Mode endpoint; the product's worker, projector and API run as processes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from tests.support.product import Product
from tests.support.slack_product import message_posted, running_slack_product

pytestmark = pytest.mark.integration

SLACK_TS = "1795426000.000100"


@pytest.fixture(scope="module")
def slack() -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
    slack: SocketModeStandIn,
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("socket")
    with running_slack_product(kafka_bootstrap_servers, workdir, slack) as product:
        yield product


def posted_issue(product: Product) -> dict[str, Any]:
    """An open issue whose Slack message is known, as after the presenter posted it."""
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    body = {"slackChannelId": channel, "correlationId": "db", "header": "Database down"}
    assert product.post("/alert", body).status_code == 202
    issue = product.wait_for_issue(channel_id=channel, status="open")
    return message_posted(product, issue, SLACK_TS)


def reaction(channel: str, name: str, user: str = "U0ALICE") -> dict[str, Any]:
    return {
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": SLACK_TS},
            "event_ts": "1795426100.000200",
        },
    }


def test_lookup_finds_an_issue_by_its_message(product: Product) -> None:
    issue = posted_issue(product)
    found = product.issues(slack_ts=SLACK_TS, channel_id=issue["channel_id"])
    assert [i["id"] for i in found] == [issue["id"]]


def test_reaction_resolves_the_issue_and_says_who(
    product: Product, slack: SocketModeStandIn
) -> None:
    issue = posted_issue(product)
    envelope = slack.send("events_api", reaction(issue["channel_id"], "white_check_mark"))
    slack.wait_for_ack(envelope)
    resolved = product.wait_for_issue(channel_id=issue["channel_id"], status="resolved")
    assert resolved["resolution"] == "manual"
    assert resolved["resolved_by"]["id"] == "U0ALICE"


def test_acknowledge_button_is_acknowledged_after_it_is_stored(
    product: Product, slack: SocketModeStandIn
) -> None:
    issue = posted_issue(product)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0BOB", "username": "bob", "name": "Bob"},
        "container": {"channel_id": issue["channel_id"], "message_ts": SLACK_TS},
        "actions": [
            {"action_id": "alertfold:acknowledge", "value": issue["id"], "action_ts": "1.5"}
        ],
    }
    slack.wait_for_ack(slack.send("interactive", payload))
    acked = product.wait_for_issue(
        channel_id=issue["channel_id"],
        acknowledged_by={"kind": "slack_user", "id": "U0BOB", "name": "Bob"},
    )
    assert acked["status"] == "open"


def test_after_a_disconnect_the_client_reconnects_and_loses_nothing(
    product: Product, slack: SocketModeStandIn
) -> None:
    issue = posted_issue(product)
    before = slack.connections_opened
    slack.disconnect("refresh_requested")
    envelope = slack.send("events_api", reaction(issue["channel_id"], "eyes", user="U0CAROL"))
    slack.wait_for_connection(before + 1)
    slack.wait_for_ack(envelope)
    watched = product.wait_for_issue(
        channel_id=issue["channel_id"],
        investigated_by={"kind": "slack_user", "id": "U0CAROL", "name": ""},
    )
    assert watched["id"] == issue["id"]
