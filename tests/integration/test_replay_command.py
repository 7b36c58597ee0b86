"""`alertfold replay` as a user runs it, beside the running product: the view is rebuilt,
stays the same, and the product carries on writing the new generation."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.product import Product

pytestmark = pytest.mark.integration


def test_replay_command_rebuilds_the_view_and_the_product_carries_on(
    sqlite_product: Product,
) -> None:
    product = sqlite_product
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    alert = {"slackChannelId": channel, "correlationId": "db-down", "header": "Database down"}
    assert product.post("/alerts", [alert, {**alert, "correlationId": "disk"}]).status_code == 202
    product.wait_for_issue(channel_id=channel, correlation_id="disk")
    before = product.issues(channel_id=channel)

    result = product.command("replay")

    assert result.returncode == 0, result.stderr
    headline, lookup, audit = result.stdout.splitlines()
    assert re.fullmatch(r"replayed [\d,]+ events in [\d.]+ s \([\d,]+ events/s\)", headline)
    assert re.match(r"lookup: generation \d+ is live \(replaced \d+\); [\d,]+ issues", lookup)
    assert re.match(r"audit: generation \d+ is live \(replaced \d+\); [\d,]+ audited events", audit)
    # Not a terminal: plain progress lines, the last one complete.
    progress = [line for line in result.stderr.splitlines() if line.startswith("replay: ")]
    assert progress and re.fullmatch(r"replay: ([\d,]+)/\1 events .*done", progress[-1])
    assert "\r" not in result.stderr
    assert product.issues(channel_id=channel) == before
    issue_id = before[0]["id"]
    assert product.get(f"/issues/{issue_id}/history").status_code == 200

    # The projector follows the switch: a new alert shows in the new generation.
    assert product.post("/alert", {**alert, "text": "still down"}).status_code == 202
    product.wait_for_issue(channel_id=channel, correlation_id="db-down", alert_count=2)
