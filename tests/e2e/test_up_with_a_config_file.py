"""`alertfold up` on a config file: every part reads the same file, and a bad file stops it
before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from harness.waiting import eventually
from infra.local_kafka import free_port
from tests.support.up import REPO, running_up

ALERT = {
    "slackChannelId": "C123",
    "correlationId": "disk-full",
    "header": "Disk full",
    "text": "/var is at 100%",
    "severity": "warning",
}


def test_alertfold_up_runs_every_part_on_the_config_file(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "alertfold.yaml"
    config.write_text(
        f"api:\n  port: {port}\n  ingest_api_keys: ['${{INGEST_KEY}}']\n"
        "kafka:\n  partitions: 2\n  topic_prefix: cfg.\nalerting:\n  tick_seconds: 500ms\n",
        encoding="utf-8",
    )
    key = "ingest-key-from-the-environment"
    # The API port comes from the file alone: an empty variable counts as unset.
    environ = {"ALERTFOLD_CONFIG": str(config), "ALERTFOLD_API_PORT": "", "INGEST_KEY": key}
    with running_up(tmp_path, **environ) as up:
        up.wait_until_up()
        api = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{api}/alert", json=ALERT, timeout=30).status_code == 401
        response = httpx.post(
            f"{api}/alert", json=ALERT, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 202, response.text
        issues = eventually(
            lambda: httpx.get(f"{api}/issues", params={"channel_id": "C123"}).json()["issues"],
            what="the issue in the view",
        )
        assert issues[0]["correlation_id"] == "disk-full"


def test_alertfold_up_refuses_a_bad_config_file_naming_its_line(tmp_path: Path) -> None:
    config = tmp_path / "alertfold.yaml"
    config.write_text("alerting:\n  resend_interval: 30 minutes\n", encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "app.cli", "up"],
        env={"ALERTFOLD_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    assert finished.stderr == (
        f"alertfold: invalid settings:\n  {config}:2: alerting.resend_interval='30 minutes': "
        "not a duration such as 90s, 30m, 1h or 1h30m, or a number of seconds\n"
    )
