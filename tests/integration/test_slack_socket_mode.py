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

from app.telemetry import METRICS_OFFSETS
from gateways.slack.blocks import issue_metadata
from gateways.slack.current_message import NOT_ITS_MESSAGE
from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackLimits
from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from harness.waiting import eventually
from tests.support.metrics import Samples, free_metrics_base, scrape, total
from tests.support.product import Product
from tests.support.slack_product import message_posted, running_slack_product

pytestmark = pytest.mark.integration

SLACK_TS = "1795426000.000100"


@pytest.fixture(scope="module")
def web_api() -> Iterator[SlackWebApiServer]:
    with running_slack_server(set(), limits=SlackLimits.none()) as server:
        yield server


@pytest.fixture(scope="module")
def slack(web_api: SlackWebApiServer) -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in(web_api) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
    slack: SocketModeStandIn,
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("socket")
    metrics = str(free_metrics_base())
    with running_slack_product(
        kafka_bootstrap_servers, workdir, slack, ALERTFOLD_METRICS_PORT=metrics
    ) as product:
        yield product


def open_issue(product: Product) -> dict[str, Any]:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    body = {"slackChannelId": channel, "correlationId": "db", "header": "Database down"}
    assert product.post("/alert", body).status_code == 202
    return product.wait_for_issue(channel_id=channel, status="open")


def posted_issue(product: Product) -> dict[str, Any]:
    """An open issue whose Slack message is known, as after the presenter posted it."""
    return message_posted(product, open_issue(product), SLACK_TS)


def reaction(channel: str, name: str, user: str = "U0ALICE", ts: str = SLACK_TS) -> dict[str, Any]:
    return {
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": "1795426100.000200",
        },
    }


def button(issue: dict[str, Any], action_id: str, channel: str, user: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user},
        "container": {"channel_id": channel, "message_ts": SLACK_TS},
        "actions": [{"action_id": action_id, "value": issue["id"], "action_ts": "2.5"}],
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
    url = f"http://127.0.0.1:{metrics_port(product, 'interactions')}"
    sessions = total(scrape(url), "alertfold_slack_socket_sessions_total")
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
    samples = eventually(
        lambda: _reconnected(scrape(url), sessions), what="the new session in the metrics"
    )
    assert total(samples, "alertfold_slack_socket_connected") == 1
    assert total(samples, "alertfold_ready") == 1
    assert (
        total(
            samples,
            "alertfold_slack_requests_total",
            mode="socket",
            type="events_api",
            outcome="acknowledged",
        )
        >= 1
    )
    assert total(samples, "alertfold_slack_interactions_total", kind="investigating") >= 1


def metrics_port(product: Product, part: str) -> int:
    return int(product.env["ALERTFOLD_METRICS_PORT"]) + METRICS_OFFSETS[part]


def _reconnected(samples: Samples, sessions_before: float) -> Samples | None:
    after = total(samples, "alertfold_slack_socket_sessions_total")
    return samples if after > sessions_before else None


def test_a_check_mark_on_a_message_posted_a_moment_ago_resolves_its_issue(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    """The message is in Slack, its ts not yet in the view: its metadata names the issue."""
    issue = open_issue(product)
    channel = issue["channel_id"]
    with web_api.workspace.lock:
        web_api.workspace.channels[channel] = {}
    posted = web_api.say(channel, "UALERTFOLD", "Database down")
    posted.metadata = issue_metadata(issue["id"])
    assert product.issues(slack_ts=posted.ts, channel_id=channel) == []

    envelope = slack.send("events_api", reaction(channel, "white_check_mark", ts=posted.ts))

    slack.wait_for_ack(envelope)
    resolved = product.wait_for_issue(channel_id=channel, status="resolved")
    assert resolved["resolved_by"]["id"] == "U0ALICE"


def test_a_button_on_a_message_in_another_channel_does_not_act_on_the_issue(
    product: Product, slack: SocketModeStandIn
) -> None:
    issue = posted_issue(product)
    elsewhere = f"C{uuid.uuid4().hex[:8].upper()}"
    click = button(issue, "alertfold:resolve", elsewhere, "U0EVE")

    slack.wait_for_ack(slack.send("interactive", click))

    told = eventually(
        lambda: [e for e in slack.ephemerals if e.get("user") == "U0EVE"],
        what="an explanation to the user",
    )
    assert (told[0]["channel"], told[0]["text"]) == (elsewhere, NOT_ITS_MESSAGE)
    assert product.get(f"/issues/{issue['id']}").json()["status"] == "open"
