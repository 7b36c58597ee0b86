"""A real Prometheus Alertmanager (and its amtool) for integration tests.

The binaries are built once from the module on the Go module proxy by
`scripts/alertmanager-binaries` and cached under `.cache/alertmanager/<version>/`; without Go
and without a cached build, the tests that need them are skipped with the reason. One
Alertmanager runs per test module; its configuration routes each test's alerts (by their
`scenario` label) to a webhook receiver of its own, pointing at the product.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.waiting import eventually
from infra.local_kafka import free_port

VERSION = "v0.35.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "alertmanager-binaries"


def alertmanager_binaries() -> Path:
    """The folder holding `alertmanager` and `amtool`, built on first use."""
    cached = REPO_ROOT / ".cache" / "alertmanager" / VERSION
    if not (cached / "amtool").exists() and shutil.which("go") is None:
        pytest.skip(f"Alertmanager {VERSION} is not built and Go is not installed to build it")
    built = subprocess.run(
        [str(BUILD_SCRIPT), VERSION], capture_output=True, text=True, timeout=1800, check=False
    )
    if built.returncode != 0:
        raise RuntimeError(f"building Alertmanager {VERSION} failed:\n{built.stderr[-4000:]}")
    return Path(built.stdout.strip())


@dataclass(frozen=True)
class Receiver:
    """A webhook receiver for the alerts whose `scenario` label is `name`."""

    name: str
    url: str
    max_alerts: int = 0
    repeat_interval: str = ""  # the route's own, instead of every 2 s


@dataclass
class Alertmanager:
    url: str
    binaries: Path
    process: subprocess.Popen[bytes]
    log: Path

    def post_alerts(self, *alerts: Mapping[str, Any]) -> None:
        """Send alerts as Prometheus does."""
        response = httpx.post(f"{self.url}/api/v2/alerts", json=list(alerts), timeout=10)
        assert response.status_code == 200, response.text

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include `labels`."""
        total = 0.0
        for line in httpx.get(f"{self.url}/metrics", timeout=10).text.splitlines():
            named = line.startswith((f"{name}{{", f"{name} "))
            if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def amtool(self, *args: str, url: str) -> subprocess.CompletedProcess[str]:
        """Run amtool against `url` (alertfold, or this Alertmanager)."""
        return subprocess.run(
            [str(self.binaries / "amtool"), f"--alertmanager.url={url}", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def alert(name: str, scenario: str, **labels: str) -> dict[str, Any]:
    """A firing alert as Prometheus posts it to Alertmanager."""
    return {
        "labels": {"alertname": name, "scenario": scenario, **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', '?')}"},
        "startsAt": datetime.now(UTC).isoformat(),
    }


def resolved(sent: Mapping[str, Any]) -> dict[str, Any]:
    """The same alert, resolved now (Prometheus posts it again with its end)."""
    return {**sent, "endsAt": datetime.now(UTC).isoformat()}


@contextlib.contextmanager
def running_alertmanager(workdir: Path, receivers: list[Receiver]) -> Iterator[Alertmanager]:
    """An Alertmanager grouping by alertname, flushing every second and repeating every
    2 s, whose route sends each scenario to its receiver (`send_resolved: true`)."""
    binaries = alertmanager_binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(json.dumps(_config(receivers), indent=1))  # JSON is YAML
    port = free_port()
    log = workdir / "alertmanager.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                str(binaries / "alertmanager"),
                f"--config.file={config}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    manager = Alertmanager(f"http://127.0.0.1:{port}", binaries, process, log)
    try:
        eventually(lambda: _ready(manager), timeout=30, what="Alertmanager ready")
        yield manager
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(manager: Alertmanager) -> bool:
    if manager.process.poll() is not None:
        raise AssertionError(f"Alertmanager exited:\n{manager.log.read_text()[-3000:]}")
    try:
        return httpx.get(f"{manager.url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _config(receivers: list[Receiver]) -> dict[str, Any]:
    def webhook(receiver: Receiver) -> dict[str, Any]:
        config: dict[str, Any] = {"url": receiver.url, "send_resolved": True}
        if receiver.max_alerts:
            config["max_alerts"] = receiver.max_alerts
        return config

    return {
        "route": {
            "receiver": "none",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "2s",
            "routes": [
                {
                    "matchers": [f'scenario="{r.name}"'],
                    "receiver": r.name,
                    **({"repeat_interval": r.repeat_interval} if r.repeat_interval else {}),
                }
                for r in receivers
            ],
        },
        "receivers": [
            {"name": "none"},
            *({"name": r.name, "webhook_configs": [webhook(r)]} for r in receivers),
        ],
    }
