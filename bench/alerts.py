"""Benchmark alerts: Slack Manager alert JSON for HTTP, and envelopes as the API writes them.

Alerts are spread round-robin over channels (one channel = one key = one partition's work),
and over issues: `alerts_per_issue` alerts share a correlation id, so the first opens the
issue and the others are grouped into it. Severity never changes, so every alert is exactly
one issue event, which is what lets a benchmark know when the fold is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from domain.alert import Alert
from wire.alerts import encode_alert


def channel_id(index: int) -> str:
    return f"CBENCH{index:04d}"


def alert_json(
    index: int, *, channels: int, alerts_per_issue: int = 1, run: str = "r"
) -> dict[str, Any]:
    """Alert number `index`: its channel and correlation id follow from the index."""
    issue = index // alerts_per_issue
    return {
        "slackChannelId": channel_id(issue % channels),
        "correlationId": f"{run}-issue-{issue}",
        "header": "Disk almost full",
        "text": f"/var is {50 + index % 50}% full on host-{issue % 997}",
        "severity": "error",
    }


def alert_records(
    count: int, *, channels: int, alerts_per_issue: int = 1, run: str = "r"
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs for the `alerts` topic, encoded exactly as `POST /alerts` does."""
    received_at = datetime.now(UTC)
    for index in range(count):
        obj = alert_json(index, channels=channels, alerts_per_issue=alerts_per_issue, run=run)
        alert = Alert.from_json_obj(obj)
        yield obj["slackChannelId"].encode(), encode_alert(alert, received_at)
