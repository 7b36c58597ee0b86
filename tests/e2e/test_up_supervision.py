"""`alertfold up` keeps every child running: its local broker like any part, and as many
workers and replicas of the other parts as asked for."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.waiting import eventually
from infra.local_kafka import LocalKafka
from tests.support.up import Up, running_up

log = logging.getLogger(__name__)

# Measured on a busy 2-core machine: 202 again 24 to 37 s after the kill (a 1 s pause, the
# broker's start and log recovery, its old session expiring, the API's producer reconnecting).
RECOVERY_BOUND_S = 90


def alert(channel: str, correlation_id: str) -> dict[str, object]:
    return {
        "slackChannelId": channel,
        "correlationId": correlation_id,
        "header": f"alert {correlation_id}",
        "issueFollowUpEnabled": True,
        "autoResolveSeconds": 3600,
    }


def correlations_shown(api: str, channel: str) -> set[str]:
    issues = httpx.get(f"{api}/issues", params={"channel_id": channel}, timeout=30).json()
    return {i["correlation_id"] for i in issues["issues"] if i["alert_count"] == 1}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with running_up(tmp_path) as up:
        yield up


def test_a_broker_killed_under_alertfold_up_comes_back_and_nothing_accepted_is_lost(
    up: Up,
) -> None:
    up.wait_until_up()
    channel = f"CU{uuid.uuid4().hex[:8].upper()}"
    before = {f"before-{n}" for n in range(20)}
    for correlation_id in sorted(before):
        response = httpx.post(f"{up.api}/alert", json=alert(channel, correlation_id), timeout=30)
        assert response.status_code == 202, response.text
    eventually(lambda: correlations_shown(up.api, channel) >= before, what="the first alerts")

    broker = LocalKafka.find_running(up.data_dir / "kafka")
    assert broker is not None
    os.kill(broker.pid, signal.SIGKILL)
    killed = time.monotonic()

    def accepted() -> str | None:
        correlation_id = f"after-{uuid.uuid4().hex[:6]}"
        response = httpx.post(f"{up.api}/alert", json=alert(channel, correlation_id), timeout=30)
        assert response.status_code in (202, 503), response.text
        return correlation_id if response.status_code == 202 else None

    after = eventually(accepted, timeout=RECOVERY_BOUND_S, interval=0.5, what="202 again")
    recovery = time.monotonic() - killed
    log.info("the API accepted alerts again %.1f s after the broker was killed", recovery)
    assert up.output.has("the local Kafka exited with code -9; starting it again in 1 s")
    assert up.output.has("starting the local Kafka again")

    eventually(
        lambda: correlations_shown(up.api, channel) >= before | {after},
        timeout=120,
        interval=1,
        what="the alert accepted after the kill, and every one before it",
    )
    assert up.process.poll() is None, str(up.output)
    crashes = [line.strip() for line in up.output.lines if "exited with code" in line]
    log.info("children that exited meanwhile: %s", crashes)


def test_alertfold_up_runs_the_workers_and_replicas_asked_for_and_starts_each_again(
    tmp_path: Path,
) -> None:
    with running_up(tmp_path, ALERTFOLD_WORKERS="2", ALERTFOLD_REPLICAS="presenter=2") as up:
        up.wait_until_up()
        counts = {part: len(up.children(part)) for part in ("worker", "presenter", "notifier")}
        assert counts == {"worker": 2, "presenter": 2, "notifier": 1}, str(up.output)

        os.kill(up.children("worker")[0], signal.SIGKILL)
        eventually(
            lambda: up.output.has("exited with code -9; starting it again in 1 s"),
            what="a worker's crash seen",
        )
        assert up.output.has("alertfold: the worker ")
        eventually(lambda: len(up.children("worker")) == 2, timeout=30, what="two workers")

        channel = f"CW{uuid.uuid4().hex[:8].upper()}"
        response = httpx.post(f"{up.api}/alert", json=alert(channel, "one"), timeout=30)
        assert response.status_code == 202, response.text
        eventually(
            lambda: correlations_shown(up.api, channel) == {"one"},
            timeout=120,
            what="the alert folded by the workers",
        )
        assert up.process.poll() is None, str(up.output)
