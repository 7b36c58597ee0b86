"""The README's quick start, as a user runs it: `alertfold up`, two curls, one issue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.waiting import eventually
from tests.support.up import Up, running_up

ALERT = {
    "slackChannelId": "C123",
    "correlationId": "db-down",
    "header": "Database down",
    "text": "primary does not answer",
    "severity": "error",
}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    with running_up(tmp_path) as up:
        yield up


def test_alertfold_up_folds_two_alerts_into_one_issue_and_stops_cleanly(up: Up) -> None:
    api, process, output = up.api, up.process, up.output
    up.wait_until_up()

    for text in ("primary does not answer", "still down"):
        response = httpx.post(f"{api}/alert", json={**ALERT, "text": text}, timeout=30)
        assert response.status_code == 202, response.text

    def one_issue_with_two_alerts() -> list[dict[str, object]] | None:
        issues = httpx.get(f"{api}/issues", params={"channel_id": "C123"}).json()["issues"]
        return issues if issues and issues[0]["alert_count"] == 2 else None

    issues = eventually(one_issue_with_two_alerts, what="one issue with two alerts")
    assert len(issues) == 1 and issues[0]["status"] == "open"
    eventually(
        lambda: output.has("dry-run: would update in C123"), what="the dry-run presenter's line"
    )
    status = eventually(lambda: every_part_ready(up), what="`alertfold status`: all ready")
    for part in ("up", "worker", "projector", "auditor", "presenter", "notifier", "api"):
        assert any(line.split()[1:2] == [part] for line in status), status

    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, str(output)
    assert output.has("local Kafka stopped")


def every_part_ready(up: Up) -> list[str] | None:
    """The rows of `alertfold status` once it says every part is ready (exit code 0)."""
    shown = subprocess.run(
        [sys.executable, "-m", "app.cli", "status"],
        env=up.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    rows = [line for line in shown.stdout.splitlines() if "http://" in line]
    return rows if shown.returncode == 0 else None


def test_a_part_that_dies_is_started_again_and_the_product_keeps_working(up: Up) -> None:
    api, process, output = up.api, up.process, up.output
    up.wait_until_up()
    (projector,) = up.children("projector")
    os.kill(projector, signal.SIGKILL)
    eventually(lambda: output.has("starting the projector again"), what="the projector restarted")

    response = httpx.post(f"{api}/alert", json=ALERT, timeout=30)
    assert response.status_code == 202, response.text
    eventually(
        lambda: httpx.get(f"{api}/issues", params={"channel_id": "C123"}).json()["issues"],
        timeout=90,
        what="the restarted projector to show the issue",
    )
    assert process.poll() is None, str(output)
    assert output.has("the projector exited with code -9; starting it again in 1 s")
