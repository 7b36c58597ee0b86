"""The README's quick start, as a user runs it: `alertfold up`, two curls, one issue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.waiting import eventually
from infra.local_kafka import free_port

REPO = Path(__file__).resolve().parents[2]
ALERT = {
    "slackChannelId": "C123",
    "correlationId": "db-down",
    "header": "Database down",
    "text": "primary does not answer",
    "severity": "error",
}


class Output:
    """Everything the process printed so far, collected by a reader thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: self.lines.extend(stream), daemon=True).start()

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def __str__(self) -> str:
        return "".join(self.lines[-60:])


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Output]]:
    env = {key: value for key, value in os.environ.items() if key != "KAFKA_BOOTSTRAP_SERVERS"}
    api_port, kafka_port = free_port(), free_port()
    env |= {
        "ALERTFOLD_DATA_DIR": str(tmp_path / "data"),
        "ALERTFOLD_CACHE_DIR": str(REPO / ".cache"),
        "ALERTFOLD_API_PORT": str(api_port),
        "ALERTFOLD_KAFKA_PORT": str(kafka_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        yield f"http://127.0.0.1:{api_port}", process, output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_up(process: subprocess.Popen[str], output: Output) -> None:
    eventually(
        lambda: output.has("up. API listening on") or process.poll() is not None,
        timeout=180,
        what="alertfold up to announce the API",
    )
    assert process.poll() is None, str(output)


def test_alertfold_up_folds_two_alerts_into_one_issue_and_stops_cleanly(
    up: tuple[str, subprocess.Popen[str], Output],
) -> None:
    api, process, output = up
    wait_until_up(process, output)

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

    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, str(output)
    assert output.has("local Kafka stopped")


def test_a_part_that_dies_is_started_again_and_the_product_keeps_working(
    up: tuple[str, subprocess.Popen[str], Output],
) -> None:
    api, process, output = up
    wait_until_up(process, output)
    os.kill(child_running(process.pid, "projector"), signal.SIGKILL)
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


def child_running(parent: int, part: str) -> int:
    """The pid of `alertfold <part>` started by `parent`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and command[-2:-1] == [part.encode()]:
            return int(entry.name)
    raise AssertionError(f"no {part} process under {parent}")
