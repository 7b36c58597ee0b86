"""A worker stopped mid-stream picks up where it was: state from the changelog, no alert
lost, no event written twice."""

from __future__ import annotations

import json
import signal
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.waiting import eventually
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

ALERTS = 400
CORRELATIONS = 8


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def events_of(product: Product, channel: str) -> list[dict[str, object]]:
    return [
        json.loads(r.value) for r in product.records("issue-events") if r.key == channel.encode()
    ]


def test_worker_restarted_mid_stream_recovers_state_without_duplicates(product: Product) -> None:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    batch = [
        {
            "slackChannelId": channel,
            "correlationId": f"c{i % CORRELATIONS}",
            "header": f"alert {i}",
            "severity": "warning" if i % 3 else "error",
        }
        for i in range(ALERTS)
    ]
    for start in range(0, ALERTS, 50):
        assert product.post("/alerts", batch[start : start + 50]).status_code == 202

    eventually(lambda: len(events_of(product, channel)) >= 20, what="the fold to be under way")
    assert product.stop("worker") == 0
    product.start("worker")

    def all_folded() -> list[dict[str, object]] | None:
        issues = product.issues(channel_id=channel)
        counted = sum(int(i["alert_count"]) for i in issues)
        return issues if counted == ALERTS else None

    issues = eventually(all_folded, timeout=120, what=f"{ALERTS} alerts folded")
    assert len(issues) == CORRELATIONS

    events = events_of(product, channel)
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was written twice"
    versions: dict[object, list[object]] = defaultdict(list)
    for event in events:
        versions[event["issue_id"]].append(event["version"])
    for issue_versions in versions.values():
        assert issue_versions == list(range(1, len(issue_versions) + 1))
    assert "opened issue" in product.log("worker")


def test_worker_killed_mid_stream_folds_every_alert_once_after_restart(product: Product) -> None:
    """kill -9: the events a crash may repeat carry the same ids, so none is new twice."""
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    batch = [
        {"slackChannelId": channel, "correlationId": f"c{i % CORRELATIONS}", "header": f"a{i}"}
        for i in range(ALERTS)
    ]
    for start in range(0, ALERTS, 50):
        assert product.post("/alerts", batch[start : start + 50]).status_code == 202

    eventually(lambda: len(events_of(product, channel)) >= 20, what="the fold to be under way")
    product.stop("worker", signal.SIGKILL)
    product.start("worker")

    def all_folded() -> list[dict[str, object]] | None:
        issues = product.issues(channel_id=channel)
        return issues if sum(int(i["alert_count"]) for i in issues) == ALERTS else None

    eventually(all_folded, timeout=120, what=f"{ALERTS} alerts folded")
    events = events_of(product, channel)
    distinct: dict[object, dict[str, object]] = {}
    for event in events:
        # A repeated id must be the very same decision, byte for byte.
        assert distinct.setdefault(event["event_id"], event) == event
    assert len(distinct) == ALERTS  # one event per alert: no severity changes in this batch
    versions: dict[object, set[object]] = defaultdict(set)
    for event in distinct.values():
        versions[event["issue_id"]].add(event["version"])
    assert sorted(len(v) for v in versions.values()) == [ALERTS // CORRELATIONS] * CORRELATIONS
