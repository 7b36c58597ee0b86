"""The product's own processes, started the way a user starts them, for one benchmark.

Every product gets a fresh topic prefix, data directory and API port, so benchmarks share a
broker without reading each other's records. Logs go to files in the work directory; a part
that dies fails the benchmark with the end of its log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.broker import REPO_ROOT
from infra.kafka_admin import ensure_topics
from infra.local_kafka import free_port
from infra.settings import Settings
from infra.topology import topic_specs
from tests.support.waiting import eventually


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process now (`rss`) and at its peak (`peak`), in bytes."""

    rss: int
    peak: int


@dataclass
class BenchProduct:
    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def partitions(self) -> int:
        return int(self.env["ALERTFOLD_PARTITIONS"])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ALERTFOLD_API_PORT']}"

    @property
    def api_port(self) -> int:
        return int(self.env["ALERTFOLD_API_PORT"])

    def topic(self, name: str) -> str:
        return f"{self.env['ALERTFOLD_TOPIC_PREFIX']}{name}"

    def create_topics(self) -> None:
        """Create the product's topics, as every part does at start, before loading them."""
        settings = Settings.model_validate(
            {"partitions": self.partitions, "topic_prefix": self.topic("")}
        )
        asyncio.run(ensure_topics(self.bootstrap, topic_specs(settings), timeout=30))

    def start(self, part: str) -> int:
        """Start `alertfold <part>`; for the API, wait until it answers. Returns the pid."""
        log = (self.workdir / f"{part}.log").open("ab")
        self.processes[part] = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", part],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        if part == "api":
            eventually(self._api_answers, timeout=60, what=f"the API on {self.api_url}")
        return self.processes[part].pid

    def stop(self, part: str) -> None:
        process = self.processes.pop(part)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pid(self, part: str) -> int:
        return self.processes[part].pid

    def memory(self, part: str) -> Memory:
        status = Path(f"/proc/{self.pid(part)}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return Memory(_kib(fields["VmRSS"]) * 1024, _kib(fields["VmHWM"]) * 1024)

    def check_alive(self) -> None:
        for part, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"the {part} exited with {process.returncode}:\n{self.log(part)[-3000:]}"
                )

    def command(
        self, *args: str, timeout: float = 600, prefix: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run a one-shot `alertfold` command (`replay`) against this product; `prefix` runs
        it under another program (a profiler)."""
        return subprocess.run(
            [*prefix, sys.executable, "-m", "infra.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def log(self, part: str) -> str:
        return (self.workdir / f"{part}.log").read_text(errors="replace")

    def _api_answers(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(f"{self.api_url}/ping", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def bench_product(
    bootstrap: str, workdir: Path, partitions: int, **env: str
) -> Iterator[BenchProduct]:
    """A product with nothing running yet; every part started is stopped at the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    # The product runs on its defaults plus what the benchmark sets, whatever this shell has.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith("ALERTFOLD_")
    }
    environment = {
        **inherited,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ALERTFOLD_TOPIC_PREFIX": f"bench{uuid.uuid4().hex[:8]}-",
        "ALERTFOLD_DATA_DIR": str(workdir / "data"),
        "ALERTFOLD_API_PORT": str(free_port()),
        "ALERTFOLD_PARTITIONS": str(partitions),
        "ALERTFOLD_LOG_LEVEL": "warning",
        "ALERTFOLD_RATE_LIMIT_PER_SECOND": "0",  # a benchmark is a deliberate flood
        **env,
    }
    product = BenchProduct(env=environment, workdir=workdir)
    try:
        yield product
    finally:
        for part in list(product.processes):
            product.stop(part)


def _kib(text: str) -> int:
    return int(text.split()[0])
