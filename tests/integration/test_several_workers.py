"""Several workers share the partitions: they hand channels over when one joins, leaves,
freezes or dies, and every accepted alert is still folded exactly once.

A frozen worker that wakes after its partitions moved must not write anything readers see:
its transactions are fenced by the worker that took over.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.waiting import eventually
from tests.support.product import Product, running_product

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

PARTITIONS = 4
CHANNELS = 16
CORRELATIONS = 20
# How long the channels of a worker that left may stay unfolded, after the group noticed.
HAND_OVER_SECONDS = 15
SESSION_TIMEOUT_SECONDS = 10  # the worker's consumer group session


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def owned(product: Product, name: str) -> list[int] | None:
    """The partitions the worker said it owns last, or None before it said so."""
    found = re.findall(r"worker owns partitions \[([0-9, ]*)\]", product.log(name))
    if not found:
        return None
    return [int(p) for p in found[-1].split(",") if p.strip()]


def wait_for_owners(product: Product, expected: dict[str, int], timeout: float) -> float:
    """Wait until each named worker owns that many partitions; returns the seconds waited."""
    started = time.monotonic()

    def settled() -> bool:
        product.check_alive()
        counts = {name: len(owned(product, name) or []) for name in expected}
        return counts == expected

    eventually(settled, timeout=timeout, interval=0.2, what=f"partitions owned as {expected}")
    return time.monotonic() - started


class Sender:
    """Posts alerts in batches from a thread until stopped; counts what was accepted."""

    def __init__(self, product: Product, run: str) -> None:
        self.product = product
        self.run = run
        self.accepted = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(60)
        return self.accepted

    def _send(self) -> None:
        n = 0
        while not self._stop.is_set():
            batch = [
                {
                    "slackChannelId": f"CW{self.run}{(n + i) % CHANNELS}",
                    "correlationId": f"c{(n + i) % CORRELATIONS}",
                    "header": f"alert {n + i}",
                    "issueFollowUpEnabled": True,
                    "autoResolveSeconds": 3600,
                }
                for i in range(50)
            ]
            response = self.product.post("/alerts", batch)
            if response.status_code == 202:
                self.accepted += len(batch)
                n += len(batch)
            else:
                self.failures += 1
            time.sleep(0.05)


def folded_alerts(product: Product) -> int:
    """Distinct events that took in an alert; no event id may appear twice."""
    seen: set[str] = set()
    alerts = 0
    for record in product.records("issue-events"):
        event = json.loads(record.value)
        assert event["event_id"] not in seen, f"event {event['event_id']} written twice"
        seen.add(event["event_id"])
        alerts += event["data"].get("alert") is not None
    return alerts


def verify(product: Product) -> None:
    result = product.command("verify", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.startswith("identical (")


def test_workers_joining_freezing_and_dying_under_load_fold_every_alert_exactly_once(
    product: Product,
) -> None:
    run = uuid.uuid4().hex[:6].upper()
    wait_for_owners(product, {"worker": PARTITIONS}, timeout=60)
    sender = Sender(product, run)
    sender.start()
    eventually(lambda: sender.accepted >= 1000, timeout=60, what="alerts flowing")

    # A second worker joins: the partitions are shared.
    product.start("worker", name="worker-2")
    joined = wait_for_owners(product, {"worker": 2, "worker-2": 2}, timeout=HAND_OVER_SECONDS)

    # It freezes: after the session times out its partitions move to the first worker.
    eventually(lambda: sender.accepted >= 3000, timeout=60, what="alerts flowing")
    product.signal("worker-2", signal.SIGSTOP)
    frozen = wait_for_owners(
        product,
        {"worker": PARTITIONS},
        timeout=SESSION_TIMEOUT_SECONDS + HAND_OVER_SECONDS,
    )
    # It wakes, finds itself fenced, and rejoins the group.
    product.signal("worker-2", signal.SIGCONT)
    wait_for_owners(product, {"worker": 2, "worker-2": 2}, timeout=60)

    # The first one dies: the second takes everything.
    eventually(lambda: sender.accepted >= 6000, timeout=60, what="alerts flowing")
    product.stop("worker", signal.SIGKILL)
    killed = wait_for_owners(
        product,
        {"worker-2": PARTITIONS},
        timeout=SESSION_TIMEOUT_SECONDS + HAND_OVER_SECONDS,
    )
    eventually(lambda: sender.accepted >= 8000, timeout=60, what="alerts flowing")
    accepted = sender.stop()
    print(f"hand-over seconds: joined {joined:.1f}, frozen {frozen:.1f}, killed {killed:.1f}")

    eventually(
        lambda: folded_alerts(product) >= accepted,
        timeout=300,
        interval=2,
        what=f"{accepted} alerts folded",
    )
    assert folded_alerts(product) == accepted
    issues = product.issues(limit=1000)
    assert sum(i["alert_count"] for i in issues if i["channel_id"].startswith(f"CW{run}")) == (
        accepted
    )
    verify(product)


def test_deadlines_moves_and_the_clock_carry_on_when_a_partition_changes_hands(
    product: Product,
) -> None:
    run = uuid.uuid4().hex[:6].upper()
    product.start("worker", name="worker-2")
    wait_for_owners(product, {"worker": 2, "worker-2": 2}, timeout=60)
    channels = [f"CD{run}{n}" for n in range(8)]
    # Stamped 20 s ago with the shortest auto-resolve (30 s): due 10 s from now.
    stamped = (datetime.now(UTC) - timedelta(seconds=20)).isoformat()
    for channel in channels:
        body: dict[str, Any] = {
            "slackChannelId": channel,
            "correlationId": "deadline",
            "header": "resolves by itself",
            "issueFollowUpEnabled": True,
            "autoResolveSeconds": 30,
            "timestamp": stamped,
        }
        assert product.post("/alert", body).status_code == 202
    for channel in channels:
        product.wait_for_issue(channel_id=channel, status="open")

    # worker-2 leaves: its issues' deadlines fire on the survivor's ticks.
    product.stop("worker-2")
    wait_for_owners(product, {"worker": PARTITIONS}, timeout=HAND_OVER_SECONDS + 5)
    for channel in channels:
        issue = product.wait_for_issue(channel_id=channel, status="resolved", timeout=60)
        assert issue["resolution"] == "auto"

    # A partition's clock writes a tick only for a deadline due: with every issue resolved
    # (archiving is hours away) the clocks keep still, on the survivor as before.
    before = _ticks_per_partition(product)
    time.sleep(3)
    assert _ticks_per_partition(product) == before


def _ticks_per_partition(product: Product) -> dict[int, int]:
    counts: dict[int, int] = {}
    for record in product.records("ticks"):
        counts[record.partition] = counts.get(record.partition, 0) + 1
        json.loads(record.value)  # every tick is readable
    return counts


def test_a_move_between_channels_of_two_workers_continues_the_issue(product: Product) -> None:
    from domain.interactions import Actor, Interaction, InteractionKind
    from wire.interactions import encode_interaction

    run = uuid.uuid4().hex[:6].upper()
    product.start("worker", name="worker-2")
    wait_for_owners(product, {"worker": 2, "worker-2": 2}, timeout=60)
    first = owned(product, "worker") or []
    source, target = _channel_on(first, run, "S"), _channel_not_on(first, run, "T")
    assert (
        product.post(
            "/alert",
            {
                "slackChannelId": source,
                "correlationId": "db",
                "header": "h",
                "issueFollowUpEnabled": True,
            },
        ).status_code
        == 202
    )
    issue = product.wait_for_issue(channel_id=source, status="open")
    move = Interaction(
        interaction_id=f"move-{run}",
        kind=InteractionKind.MOVED,
        channel_id=source,
        correlation_id="db",
        issue_id=issue["id"],
        at=datetime.now(UTC),
        actor=Actor(kind="slack_user", id="U1", name="ana"),
        target_channel_id=target,
        reason="db team",
    )
    product.produce("interactions", encode_interaction(move), key=source.encode())
    moved = product.wait_for_issue(channel_id=target, id=issue["id"])
    assert moved["status"] == "open"
    assert (
        product.post(
            "/alert",
            {
                "slackChannelId": source,
                "correlationId": "db",
                "header": "h",
                "issueFollowUpEnabled": True,
            },
        ).status_code
        == 202
    )
    product.wait_for_issue(channel_id=target, id=issue["id"], alert_count=2)


def _partition_of(channel: str) -> int:
    from agents.issue_table import partition_for_channel

    return partition_for_channel(channel, PARTITIONS)


def _channel_on(partitions: list[int], run: str, tag: str) -> str:
    return next(
        c for c in (f"C{tag}{run}{n}" for n in range(100)) if _partition_of(c) in partitions
    )


def _channel_not_on(partitions: list[int], run: str, tag: str) -> str:
    return next(
        c for c in (f"C{tag}{run}{n}" for n in range(100)) if _partition_of(c) not in partitions
    )
