"""Alerts in over HTTP or straight onto Kafka, issues out in the lookup view: on the real
broker, with the product's own processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from agents.issue_table import partition_for_channel
from harness.waiting import eventually
from tests.support.product import Product

pytestmark = pytest.mark.integration


def alert(channel: str, correlation: str, **fields: Any) -> dict[str, Any]:
    return {
        "slackChannelId": channel,
        "correlationId": correlation,
        "header": "Database down",
        "text": "primary does not answer",
        "severity": "error",
        **fields,
    }


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:8].upper()}"


def test_two_alerts_with_one_correlation_id_make_one_issue_with_two_alerts(
    product: Product,
) -> None:
    channel = new_channel()
    assert product.post("/alert", alert(channel, "db-down")).status_code == 202
    assert product.post("/alert", alert(channel, "db-down", text="still")).status_code == 202

    issue = product.wait_for_issue(channel_id=channel, alert_count=2)
    assert issue["status"] == "open"
    assert issue["correlation_id"] == "db-down"
    assert len(product.issues(channel_id=channel)) == 1
    assert product.get(f"/issues/{issue['id']}").json()["alert_count"] == 2


def test_resolved_alert_resolves_the_issue_in_the_view(product: Product) -> None:
    channel = new_channel()
    product.post("/alerts", [alert(channel, "api-slow"), alert(channel, "disk-full")])
    product.post("/alert", alert(channel, "api-slow", severity="resolved"))

    resolved = product.wait_for_issue(
        channel_id=channel, correlation_id="api-slow", status="resolved"
    )
    assert resolved["resolved_at"] is not None
    assert [i["correlation_id"] for i in product.issues(channel_id=channel, status="open")] == [
        "disk-full"
    ]
    channels = {c["id"]: c for c in product.get("/channels").json()}
    assert channels[channel]["open_issues"] == 1


def test_alertmanager_webhook_opens_an_issue_per_alert(product: Product) -> None:
    channel = new_channel()
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "status": "firing",
        "receiver": "alertfold",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "namespace": "shop", "severity": "warning"},
                "annotations": {"summary": "p99 over 2s"},
                # Now, or the worker's clock would auto-resolve it an hour after startsAt.
                "startsAt": datetime.now(UTC).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "abc",
            }
        ],
    }
    response = product.post(f"/prometheus-alert/{channel}", payload)
    assert response.status_code == 202, response.text
    issue = product.wait_for_issue(channel_id=channel)
    assert issue["severity"] == "warning"
    assert "p99 over 2s" in issue["header"]


def test_alert_written_straight_onto_the_topic_is_folded(sqlite_product: Product) -> None:
    channel = new_channel()
    value = json.dumps(alert(channel, "kcat")).encode()
    sqlite_product.produce("alerts", value, key=channel.encode())
    issue = sqlite_product.wait_for_issue(channel_id=channel, correlation_id="kcat")
    assert issue["alert_count"] == 1


def test_alert_on_the_wrong_partition_is_rekeyed_onto_its_channel(
    sqlite_product: Product,
) -> None:
    channel = new_channel()
    right = partition_for_channel(channel, 4)
    wrong = (right + 1) % 4
    for text in ("first", "second"):
        value = json.dumps(alert(channel, "misrouted", text=text)).encode()
        sqlite_product.produce("alerts", value, key=b"not-the-channel", partition=wrong)

    issue = sqlite_product.wait_for_issue(channel_id=channel, alert_count=2)
    everything = sqlite_product.records("issue-events")
    events = [r for r in everything if r.key == channel.encode()]
    assert {r.partition for r in events} == {right}
    assert json.loads(events[0].value)["issue_id"] == issue["id"]


def test_garbage_goes_to_the_dead_letter_topic_and_the_next_alert_still_folds(
    sqlite_product: Product,
) -> None:
    channel = new_channel()
    garbage = [
        b"{not json",
        b'"a string"',
        json.dumps({"header": "no channel"}).encode(),
        json.dumps({"schema_version": 99, "type": "alert", "alert": {}}).encode(),
    ]
    for value in garbage:
        sqlite_product.produce("alerts", value, key=channel.encode())
    good = json.dumps(alert(channel, "after")).encode()
    sqlite_product.produce("alerts", good, key=channel.encode())

    sqlite_product.wait_for_issue(channel_id=channel, correlation_id="after")

    def letters() -> list[dict[str, Any]] | None:
        mine = [
            json.loads(r.value)
            for r in sqlite_product.records("alerts.dlq")
            if r.key == channel.encode()
        ]
        return mine if len(mine) == len(garbage) else None

    dead = sorted(
        eventually(letters, what="four dead letters"), key=lambda d: d["source"]["offset"]
    )
    assert [base64.b64decode(d["value_base64"]) for d in dead] == garbage
    assert dead[0]["reason"].startswith("value is not valid JSON")
    assert dead[1]["reason"] == "expected a JSON object, got str"
    assert "no slackChannelId and no routeKey" in dead[2]["reason"]
    assert dead[3]["reason"].startswith("unknown schema_version 99")
