"""The product's own `auditor` process records what the fold decided: history over HTTP and
through `alertfold audit`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.waiting import eventually
from tests.support.product import Product

pytestmark = pytest.mark.integration


def test_an_issues_history_follows_its_alerts(product: Product) -> None:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    alert = {"slackChannelId": channel, "correlationId": "db-down", "header": "Database down"}
    first = {**alert, "text": "primary does not answer", "severity": "warning", "host": "db-1"}
    product.post("/alert", first)
    product.post("/alert", {**alert, "text": "still down", "severity": "error", "author": "ops"})
    issue = product.wait_for_issue(channel_id=channel, alert_count=2, severity="error")

    def history() -> list[dict[str, Any]] | None:
        response = product.get(f"/issues/{issue['id']}/history")
        found: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
        return found if len(found) == issue["version"] else None

    events = eventually(history, timeout=30, what="the issue's history")
    assert events[0]["type"] == "IssueOpened"
    assert events[0]["who"] == "db-1"
    assert events[-1]["who"] == "ops"
    assert all(e["source"].startswith(product.topic("alerts")) for e in events)

    opened = product.get(f"/issues/{issue['id']}", at=events[0]["occurred_at"]).json()
    assert (opened["version"], opened["severity"], opened["alert_count"]) == (1, "warning", 1)

    table = product.command("audit", issue["id"])
    assert table.returncode == 0, table.stderr
    assert f"issue {issue['id']}: {len(events)} events" in table.stdout
