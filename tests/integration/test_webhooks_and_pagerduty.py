"""Sealed webhook buttons and PagerDuty's webhooks, through the product's own processes.

The API, worker, projector and `alertfold interactions` run against the session's broker; a
local Socket Mode endpoint stands in for Slack, and a tiny aiohttp server is the webhook's
target.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from gateways.api.pagerduty_signature import sign
from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from harness.waiting import eventually
from infra.local_kafka import free_port
from tests.support.product import Product
from tests.support.slack_product import message_posted, running_slack_product

pytestmark = pytest.mark.integration

KEY = "K" * 20 + "0123456789ab"
PD_SECRET = "pd-" + uuid.uuid4().hex
ROTATED_OUT = "pd-old-" + uuid.uuid4().hex
TOKEN = "tok-" + uuid.uuid4().hex  # in the webhook's payload: must stay sealed


@dataclass
class Receiver:
    """The webhook's target: answers 503 to the first call of each id, then 200."""

    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{uuid.uuid4().hex}"

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        first = sum(1 for b in self.bodies if b["messageId"] == body["messageId"]) == 1
        return web.Response(status=503 if first else 200)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    target = Receiver(port=free_port())
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/hooks/{name}", target._hook)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", target.port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield target
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


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
    with running_slack_product(
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("webhooks"),
        slack,
        ALERTFOLD_WEBHOOK_ENCRYPTION_KEY=KEY,
        ALERTFOLD_PAGERDUTY_WEBHOOK_SECRETS=f"{ROTATED_OUT},{PD_SECRET}",
    ) as product:
        yield product


def open_issue(product: Product, **alert: Any) -> dict[str, Any]:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    body = {
        "slackChannelId": channel,
        "correlationId": "db",
        "header": "Database down",
        "issueFollowUpEnabled": True,
        **alert,
    }
    response = product.post("/alert", body)
    assert response.status_code == 202, response.text
    return product.wait_for_issue(channel_id=channel, status="open")


def events_of(product: Product, issue_id: str) -> list[dict[str, Any]]:
    values = [json.loads(r.value) for r in product.records("issue-events")]
    return [v for v in values if v["issue_id"] == issue_id]


def pagerduty(
    product: Product, event_type: str, incident_key: str, *, webhook_id: str, secret: str
) -> httpx.Response:
    body = json.dumps(
        {
            "event": {
                "id": f"01{uuid.uuid4().hex[:12].upper()}",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-11-23T09:05:00Z",
                "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Alice Ops"},
                "data": {"id": "PINC01", "type": "incident", "incident_key": incident_key},
            }
        }
    ).encode()
    headers = {"X-PagerDuty-Signature": sign(body, secret), "X-Webhook-Id": webhook_id}
    return httpx.post(
        f"{product.api_url}/pagerduty/webhook", content=body, headers=headers, timeout=30
    )


# -- sealing ------------------------------------------------------------------------------


def test_a_webhook_url_and_payload_reach_neither_kafka_nor_the_view(
    product: Product, receiver: Receiver
) -> None:
    url = receiver.url
    hook = {"id": "restart", "url": url, "buttonText": "Restart", "payload": {"token": TOKEN}}
    issue = open_issue(product, webhooks=[hook])
    stored = issue["last_alert"]["webhooks"][0]
    assert set(stored["url"]) == {"__encrypted_data"}
    assert set(stored["payload"]) == {"__encrypted_data"}
    everything = [r.value for topic in ("alerts", "issue-events") for r in product.records(topic)]
    everything.append(product.get(f"/issues/{issue['id']}").content)
    for raw in everything:
        assert url.encode() not in raw and TOKEN.encode() not in raw


# -- PagerDuty ----------------------------------------------------------------------------


def test_a_pagerduty_acknowledgement_acknowledges_the_issue_once(product: Product) -> None:
    issue = open_issue(product)
    webhook_id = f"wh-{uuid.uuid4().hex}"
    for _ in range(2):  # PagerDuty retries with the same X-Webhook-Id
        answer = pagerduty(
            product, "incident.acknowledged", issue["id"], webhook_id=webhook_id, secret=PD_SECRET
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == f"pagerduty:{webhook_id}"
    resolved = pagerduty(
        product, "incident.resolved", issue["id"], webhook_id="wh-later", secret=ROTATED_OUT
    )
    assert resolved.status_code == 202, resolved.text
    done = product.wait_for_issue(channel_id=issue["channel_id"], status="resolved")
    assert done["acknowledged_by"] == {"kind": "pagerduty", "id": "PUSER01", "name": "Alice Ops"}
    assert done["resolved_by"]["kind"] == "pagerduty"
    types = [e["type"] for e in events_of(product, issue["id"])]
    assert types.count("IssueAcknowledged") == 1 and "IssueResolvedByHand" in types


def test_pagerduty_requests_without_a_valid_signature_are_refused(product: Product) -> None:
    issue = open_issue(product)
    forged = pagerduty(
        product, "incident.resolved", issue["id"], webhook_id="wh-forged", secret="guessed"
    )
    assert forged.status_code == 401
    assert forged.json() == {
        "error": "X-PagerDuty-Signature matches none of the configured secrets"
    }
    unsigned = httpx.post(f"{product.api_url}/pagerduty/webhook", content=b"{}", timeout=30)
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error": "missing X-PagerDuty-Signature header"}


def test_pagerduty_incidents_of_other_integrations_are_ignored(product: Product) -> None:
    other = pagerduty(
        product, "incident.acknowledged", "disk-full/web-1", webhook_id="wh-o", secret=PD_SECRET
    )
    assert other.status_code == 202
    assert other.json() == {"ignored": "no alertfold issue disk-full/web-1"}
    lagging = str(uuid.uuid5(uuid.NAMESPACE_URL, "not folded yet"))
    retry = pagerduty(
        product, "incident.acknowledged", lagging, webhook_id="wh-l", secret=PD_SECRET
    )
    assert retry.status_code == 503 and retry.headers["Retry-After"] == "60"


# -- webhook buttons ----------------------------------------------------------------------


def test_a_webhook_button_calls_the_target_and_the_issue_records_it(
    product: Product, slack: SocketModeStandIn, receiver: Receiver
) -> None:
    hook = {
        "id": "restart",
        "url": receiver.url,
        "buttonText": "Restart",
        "accessLevel": "channel_members",
        "payload": {"token": TOKEN},
    }
    message_ts = f"1795426000.{uuid.uuid4().int % 10**6:06d}"
    issue = message_posted(product, open_issue(product, webhooks=[hook]), message_ts)
    click = {
        "type": "block_actions",
        "user": {"id": "U0DAVE", "username": "dave", "name": "Dave"},
        "container": {"channel_id": issue["channel_id"], "message_ts": message_ts},
        "actions": [
            {"action_id": "alertfold:webhook:restart", "value": issue["id"], "action_ts": "7.5"}
        ],
    }
    slack.wait_for_ack(slack.send("interactive", click))
    calls = eventually(
        lambda: [b for b in receiver.bodies if b["messageId"] == message_ts][1:],
        what="the webhook called again after its 503",
        timeout=30,
    )
    assert calls[0]["payload"] == {"token": TOKEN}
    assert (calls[0]["id"], calls[0]["userId"], calls[0]["channelId"]) == (
        "restart",
        "U0DAVE",
        issue["channel_id"],
    )
    recorded = eventually(
        lambda: [e for e in events_of(product, issue["id"]) if e["type"] == "WebhookCalled"],
        what="WebhookCalled on issue-events",
        timeout=30,
    )
    assert recorded[0]["data"]["webhook"] == {
        "webhook_id": "restart",
        "ok": True,
        "status_code": 200,
        "error": "",
    }
    assert recorded[0]["data"]["actor"]["id"] == "U0DAVE"
    told = eventually(
        lambda: [m for m in slack.ephemerals if m.get("user") == "U0DAVE"],
        what="the outcome told to the user",
    )
    assert told[0]["text"] == "*Restart* done (HTTP 200)."
