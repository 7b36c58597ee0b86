"""Deadlines through the real worker: ticks on Kafka fire them, and they survive a restart.

Most products here run with the clock off and the test writes the ticks itself, choosing
their time: the worker's deadlines are judged against the ticks only, never its own clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.issue_table import partition_for_channel
from harness.waiting import eventually
from tests.support.product import Product, running_product
from wire.ticks import encode_tick

pytestmark = pytest.mark.integration

PARTITIONS = 4


@pytest.fixture(scope="module")
def driven(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    """A product whose time moves only when a test writes a tick."""
    workdir: Path = tmp_path_factory.mktemp("driven")
    with running_product(kafka_bootstrap_servers, workdir, ALERTFOLD_TICK_SECONDS="0") as product:
        yield product


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:8].upper()}"


def followed_alert(channel: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "slackChannelId": channel,
        "correlationId": "disk-full",
        "header": "Disk full",
        "timestamp": at.isoformat(),
        "issueFollowUpEnabled": True,
        "autoResolveSeconds": 60,
        **fields,
    }


def tick(product: Product, channel: str, at: datetime) -> None:
    partition = partition_for_channel(channel, PARTITIONS)
    product.produce("ticks", encode_tick(at), partition=partition)


def events_of(product: Product, channel: str) -> list[dict[str, Any]]:
    return [
        json.loads(r.value) for r in product.records("issue-events") if r.key == channel.encode()
    ]


def test_tick_past_auto_resolve_time_resolves_the_issue(driven: Product) -> None:
    channel, start = new_channel(), datetime.now(UTC).replace(microsecond=0)
    assert driven.post("/alert", followed_alert(channel, start)).status_code == 202
    driven.wait_for_issue(channel_id=channel, status="open")

    tick(driven, channel, start + timedelta(seconds=59))
    tick(driven, channel, start + timedelta(seconds=61))

    resolved = driven.wait_for_issue(channel_id=channel, status="resolved")
    assert resolved["resolved_at"] == (start + timedelta(seconds=60)).isoformat().replace(
        "+00:00", "Z"
    )
    types = [e["type"] for e in events_of(driven, channel)]
    assert types == ["IssueOpened", "IssueResolved"]


def test_pending_deadline_survives_a_worker_restart(driven: Product) -> None:
    channel, start = new_channel(), datetime.now(UTC).replace(microsecond=0)
    assert driven.post("/alert", followed_alert(channel, start)).status_code == 202
    driven.wait_for_issue(channel_id=channel, status="open")

    assert driven.stop("worker") == 0
    driven.start("worker")
    tick(driven, channel, start + timedelta(seconds=3600))

    driven.wait_for_issue(channel_id=channel, status="resolved", timeout=120)
    events = events_of(driven, channel)
    assert [e["type"] for e in events] == ["IssueOpened", "IssueResolved"]
    assert events[1]["cause"]["topic"] == driven.topic("ticks")


def test_archived_issue_is_replaced_by_a_new_one_on_the_next_alert(driven: Product) -> None:
    channel, start = new_channel(), datetime.now(UTC).replace(microsecond=0)
    assert driven.post("/alert", followed_alert(channel, start)).status_code == 202
    first = driven.wait_for_issue(channel_id=channel)
    # Auto-resolved at +60 s, archived twelve hours later (archivingDelaySeconds 0).
    tick(driven, channel, start + timedelta(hours=13))
    driven.wait_for_issue(channel_id=channel, id=first["id"], status="archived")

    later = followed_alert(channel, start + timedelta(hours=13, seconds=1))
    assert driven.post("/alert", later).status_code == 202
    second = driven.wait_for_issue(channel_id=channel, status="open")
    assert second["id"] != first["id"]


def test_the_clock_releases_a_delayed_notification(sqlite_product: Product) -> None:
    """The default product's own clock writes the tick that fires the deadline."""
    channel = new_channel()
    body = followed_alert(channel, datetime.now(UTC), notificationDelaySeconds=1)
    assert sqlite_product.post("/alert", body).status_code == 202

    def released() -> list[str] | None:
        types = [e["type"] for e in events_of(sqlite_product, channel)]
        return types if "NotificationDelayElapsed" in types else None

    types = eventually(released, timeout=60, what="the notification delay to pass")
    assert types[:2] == ["IssueOpened", "NotificationDelayElapsed"]


def verify(product: Product) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "verify"],
        env=product.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_verify_finds_the_live_log_identical_to_a_refold(sqlite_product: Product) -> None:
    """Real alerts, real ticks from the worker's clock, deadlines firing in between."""
    channel, start = new_channel(), datetime.now(UTC)
    for n in range(5):
        body = followed_alert(
            channel, start, correlationId=f"c{n}", notificationDelaySeconds=1, autoResolveSeconds=30
        )
        assert sqlite_product.post("/alert", body).status_code == 202

    def released() -> bool:
        types = [e["type"] for e in events_of(sqlite_product, channel)]
        return types.count("NotificationDelayElapsed") == 5

    eventually(released, timeout=60, what="the clock to release five notifications")
    done = verify(sqlite_product)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("identical (")
