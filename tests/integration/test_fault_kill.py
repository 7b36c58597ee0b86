"""kill -9 the worker at random points while alerts flow: after restarts every accepted alert
is folded exactly once, and a re-fold of the inputs gives the very same events."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.waiting import eventually
from tests.support.product import Product, running_product

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ALERTS = 20_000
BATCH = 500
CHANNELS = 4
CORRELATIONS = 50
KILLS = 3


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def alert_batches(run: str) -> list[list[dict[str, Any]]]:
    alerts = [
        {
            "slackChannelId": f"CK{run}{n % CHANNELS}",
            "correlationId": f"c{n % CORRELATIONS}",
            "header": f"alert {n}",
            "severity": ("error", "warning", "panic")[n % 3],
            "issueFollowUpEnabled": True,
            "autoResolveSeconds": 3600,
        }
        for n in range(ALERTS)
    ]
    return [alerts[i : i + BATCH] for i in range(0, ALERTS, BATCH)]


def folded_alerts(product: Product) -> dict[str, dict[str, Any]]:
    """Distinct events (a repeated id must be byte-identical) that took in an alert."""
    distinct: dict[str, dict[str, Any]] = {}
    for record in product.records("issue-events"):
        event = json.loads(record.value)
        assert distinct.setdefault(event["event_id"], event) == event, "same id, new content"
    return {i: e for i, e in distinct.items() if e["data"].get("alert") is not None}


def test_worker_killed_at_random_points_folds_every_alert_exactly_once(product: Product) -> None:
    run = uuid.uuid4().hex[:6].upper()
    accepted = 0

    def send_all() -> None:
        nonlocal accepted
        for batch in alert_batches(run):
            assert product.post("/alerts", batch).status_code == 202
            accepted += len(batch)

    sender = threading.Thread(target=send_all)
    sender.start()
    chaos = random.Random(run)
    for _ in range(KILLS):
        threshold = chaos.randint(1, ALERTS // (KILLS + 1))
        eventually(lambda t=threshold: accepted >= t, timeout=120, what="alerts flowing")
        product.stop("worker", signal.SIGKILL)
        product.start("worker")
    sender.join(300)
    assert accepted == ALERTS

    # Every alert makes at least one event; then count the distinct ones that took an alert.
    eventually(
        lambda: product.count("issue-events") >= ALERTS,
        timeout=300,
        interval=1,
        what=f"events for {ALERTS} alerts",
    )
    eventually(
        lambda: len(folded_alerts(product)) >= ALERTS,
        timeout=300,
        interval=5,
        what=f"{ALERTS} alerts folded",
    )
    assert len(folded_alerts(product)) == ALERTS

    verified = subprocess.run(
        [sys.executable, "-m", "app.cli", "verify"],
        env=product.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr[-3000:]
    assert verified.stdout.startswith("identical (")
