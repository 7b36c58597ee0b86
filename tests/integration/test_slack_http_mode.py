"""Slack's HTTP mode and channel names, through the product's API process.

The API serves Slack's Request URLs under /slack/ with the signing secret, and resolves
channel names with the bot token; Slack's Web API is the stand-in (behind the Socket Mode
stand-in, which answers `chat.postEphemeral`), the worker and projector run on the broker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from gateways.slack.request_signature import sign_slack_request
from harness.slack_server import BOT_TOKEN, SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackLimits
from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from tests.support.product import Product, running_product
from tests.support.slack_product import message_posted

pytestmark = pytest.mark.integration

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1795426000.000100"
OPS = "C0OPSALRT"


@pytest.fixture(scope="module")
def web_api() -> Iterator[SlackWebApiServer]:
    with running_slack_server({OPS}, limits=SlackLimits.none()) as server:
        server.surfaces.names[OPS] = "ops-alerts"
        for n in range(250):  # more than one page of conversations.list
            server.workspace.channels[f"C0FILL{n:04d}"] = {}
            server.surfaces.outside.add(f"C0FILL{n:04d}")
        yield server


@pytest.fixture(scope="module")
def slack(web_api: SlackWebApiServer) -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in(web_api) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory, slack: SocketModeStandIn
) -> Iterator[Product]:
    with running_product(
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("http-mode"),
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.url,
    ) as product:
        yield product


def signed_post(
    product: Product, path: str, body: bytes, *, at: int | None = None, secret: str = SECRET
) -> httpx.Response:
    at = int(time.time()) if at is None else at
    headers = {
        "X-Slack-Request-Timestamp": str(at),
        "X-Slack-Signature": sign_slack_request(body, at, secret),
        "Content-Type": "application/json"
        if path == "/slack/events"
        else "application/x-www-form-urlencoded",
    }
    return httpx.post(f"{product.api_url}{path}", content=body, headers=headers, timeout=30)


def posted_issue(product: Product, channel: str | None = None) -> dict[str, Any]:
    channel = channel or f"C{uuid.uuid4().hex[:8].upper()}"
    body = {"slackChannelId": channel, "correlationId": "db", "header": "Database down"}
    assert product.post("/alert", body).status_code == 202
    issue = product.wait_for_issue(channel_id=channel, status="open")
    return message_posted(product, issue, SLACK_TS)


def test_slacks_url_verification_is_answered_with_the_challenge(product: Product) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV"})
    answer = signed_post(product, "/slack/events", body.encode())
    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def test_requests_not_signed_by_slack_just_now_are_refused_with_the_reason(
    product: Product,
) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    unsigned = httpx.post(f"{product.api_url}/slack/events", content=body, timeout=30)
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error": "missing X-Slack-Request-Timestamp header"}
    stale = signed_post(product, "/slack/events", body, at=int(time.time()) - 600)
    assert stale.status_code == 401 and "within 300 s" in stale.json()["error"]
    forged = signed_post(product, "/slack/events", body, secret="guessed")
    assert forged.status_code == 401
    assert forged.json() == {"error": "X-Slack-Signature does not match the signing secret"}


def test_a_signed_reaction_resolves_the_issue(product: Product) -> None:
    issue = posted_issue(product)
    event = {
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event": {
            "type": "reaction_added",
            "user": "U0ALICE",
            "reaction": "white_check_mark",
            "item": {"type": "message", "channel": issue["channel_id"], "ts": SLACK_TS},
            "event_ts": "1795426100.000200",
        },
    }
    answer = signed_post(product, "/slack/events", json.dumps(event).encode())
    assert answer.status_code == 200
    resolved = product.wait_for_issue(channel_id=issue["channel_id"], status="resolved")
    assert resolved["resolved_by"]["id"] == "U0ALICE"


def test_a_signed_button_acknowledges_the_issue(product: Product) -> None:
    issue = posted_issue(product)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0BOB", "username": "bob", "name": "Bob"},
        "container": {"channel_id": issue["channel_id"], "message_ts": SLACK_TS},
        "actions": [
            {"action_id": "alertfold:acknowledge", "value": issue["id"], "action_ts": "1.5"}
        ],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert signed_post(product, "/slack/interactions", body).status_code == 200
    acked = product.wait_for_issue(
        channel_id=issue["channel_id"],
        acknowledged_by={"kind": "slack_user", "id": "U0BOB", "name": "Bob"},
    )
    assert acked["id"] == issue["id"] and acked["status"] == "open"


def test_the_slash_command_answers_in_its_response(product: Product) -> None:
    issue = posted_issue(product)
    body = urlencode(
        {"command": "/alertfold", "text": "list", "channel_id": issue["channel_id"], "user_id": "U"}
    ).encode()
    answer = signed_post(product, "/slack/commands", body)
    assert answer.status_code == 200
    assert answer.json()["response_type"] == "ephemeral" and issue["id"] in answer.json()["text"]


def test_a_channel_name_becomes_its_id_before_the_alert_is_stored(product: Product) -> None:
    for name in ("#ops-alerts", "ops-alerts"):
        alert = {"slackChannelId": name, "correlationId": f"by-name-{name}", "header": "Disk"}
        assert product.post("/alert", alert).status_code == 202, name
        issue = product.wait_for_issue(channel_id=OPS, correlation_id=f"by-name-{name}")
        assert issue["channel_id"] == OPS
    path = product.post("/alert/ops-alerts", {"correlationId": "by-path", "header": "Disk"})
    assert path.status_code == 202
    product.wait_for_issue(channel_id=OPS, correlation_id="by-path")


def test_a_name_that_is_none_of_the_bots_channels_is_refused(product: Product) -> None:
    answer = product.post("/alert", {"slackChannelId": "#nowhere", "header": "Disk"})
    assert answer.status_code == 400
    assert "no channel named #nowhere has alertfold as a member" in answer.json()["error"]


def test_channels_lists_the_bots_channels_with_their_names(product: Product) -> None:
    posted_issue(product, OPS)
    channels = product.get("/channels").json()
    ops = next(c for c in channels if c["id"] == OPS)
    assert ops["name"] == "ops-alerts" and ops["open_issues"] >= 1
    assert not any(c["id"].startswith("C0FILL") for c in channels)  # the bot is not in them
