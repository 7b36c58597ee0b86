"""alertfold as a user runs it: `alertfold <part>` processes on a broker, with their own topics.

Every product gets a fresh topic prefix, data directory and API port, so several share one
broker without seeing each other's records. Each part's output goes to a log file in the
work directory; a part that dies is reported with the end of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from harness.waiting import eventually
from infra.kafka_admin import ensure_topics
from infra.kafka_clients import KafkaConnection, kafka_connection
from infra.local_kafka import free_port
from infra.settings import Settings, load_settings
from infra.topology import topic_specs


class PartDied(AssertionError):
    """A part of the product exited while it should have been running."""


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process now (`rss`) and at its peak (`peak`), in bytes."""

    rss: int
    peak: int


def product_environment(
    bootstrap: str,
    workdir: Path,
    *,
    partitions: int,
    base: Mapping[str, str],
    prefix: str = "t",
    **env: str,
) -> dict[str, str]:
    """`base` plus what isolates one product: its topic prefix, data directory, API port,
    and no metrics endpoints (several products run at once; a test that reads them sets
    ALERTFOLD_METRICS_PORT)."""
    return {
        **base,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ALERTFOLD_TOPIC_PREFIX": f"{prefix}{uuid.uuid4().hex[:10]}-",
        "ALERTFOLD_DATA_DIR": str(workdir / "data"),
        "ALERTFOLD_API_PORT": str(free_port()),
        "ALERTFOLD_PARTITIONS": str(partitions),
        "ALERTFOLD_METRICS_PORT": "0",
        **env,
    }


@dataclass
class Product:
    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.env["ALERTFOLD_TOPIC_PREFIX"]

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def kafka(self) -> KafkaConnection:
        """How the product's parts connect to Kafka (its security settings included)."""
        return kafka_connection(load_settings(self.env), self.bootstrap)

    @property
    def partitions(self) -> int:
        return int(self.env["ALERTFOLD_PARTITIONS"])

    @property
    def api_port(self) -> int:
        return int(self.env["ALERTFOLD_API_PORT"])

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # processes --------------------------------------------------------------------------

    def start(self, part: str, name: str | None = None) -> int:
        """Start `alertfold <part>` as `name` (default: the part; a second worker needs its
        own name); for the API, wait until it answers. Returns the pid."""
        name = name or part
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "app.cli", part],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        if part == "api":
            eventually(self._api_answers, timeout=60, what=f"the API on {self.api_url}")
        return self.processes[name].pid

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the process and wait for it to exit (killed after 60 s); its exit code."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self) -> None:
        for part in list(self.processes):
            self.stop(part)

    def signal(self, name: str, sig: signal.Signals) -> None:
        """Send a signal without waiting (SIGSTOP, SIGCONT)."""
        self.processes[name].send_signal(sig)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def memory(self, part: str) -> Memory:
        status = Path(f"/proc/{self.pid(part)}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return Memory(_kib(fields["VmRSS"]) * 1024, _kib(fields["VmHWM"]) * 1024)

    def cpu_seconds(self) -> float:
        """The processor time the running parts have used so far (user and system)."""
        ticks = 0
        for process in self.processes.values():
            stat = Path(f"/proc/{process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()  # after the command's name
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def check_alive(self) -> None:
        """Fail at once, with its log, when a part of the product has died."""
        for part, process in self.processes.items():
            if process.poll() is not None:
                raise PartDied(
                    f"the {part} exited with {process.returncode}:\n{self.log(part)[-4000:]}"
                )

    def command(
        self, *args: str, timeout: float = 120, prefix: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run a one-shot `alertfold` command (e.g. `replay`) against this product; `prefix`
        runs it under another program (a profiler)."""
        return subprocess.run(
            [*prefix, sys.executable, "-m", "app.cli", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _api_answers(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(f"{self.api_url}/ping", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    # HTTP -------------------------------------------------------------------------------

    def post(self, path: str, body: Any = None, *, content: bytes | None = None) -> httpx.Response:
        if content is not None:
            return httpx.post(f"{self.api_url}{path}", content=content, timeout=30)
        return httpx.post(f"{self.api_url}{path}", json=body, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.api_url}{path}", params=params, timeout=30)

    def delete(self, path: str) -> httpx.Response:
        return httpx.delete(f"{self.api_url}{path}", timeout=30)

    def issues(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/issues", **params)
        assert response.status_code == 200, response.text
        issues: list[dict[str, Any]] = response.json()["issues"]
        return issues

    def wait_for_issue(self, timeout: float = 60, **expected: Any) -> dict[str, Any]:
        """The first issue whose fields equal `expected`, once the view shows it."""
        filters = {k: expected[k] for k in ("channel_id", "correlation_id") if k in expected}

        def probe() -> dict[str, Any] | None:
            self.check_alive()
            for issue in self.issues(**filters):
                if all(issue.get(k) == v for k, v in expected.items()):
                    return issue
            return None

        return eventually(probe, timeout=timeout, what=f"an issue with {expected}")

    # Kafka ------------------------------------------------------------------------------

    def create_topics(self) -> None:
        """Create the product's topics, as every part does at start."""
        settings = Settings.model_validate(
            {"partitions": self.partitions, "topic_prefix": self.topic("")}
        )
        asyncio.run(ensure_topics(self.kafka, topic_specs(settings), timeout=30))

    def produce(
        self, name: str, value: bytes | None, key: bytes | None = None, partition: int | None = None
    ) -> None:
        async def send() -> None:
            # Up to the `alerts` topic's own limit, so tests can put oversized values there.
            producer = AIOKafkaProducer(
                **self.kafka.options, acks="all", max_request_size=8 * 1024 * 1024
            )
            await producer.start()
            try:
                await producer.send_and_wait(self.topic(name), value, key=key, partition=partition)
            finally:
                await producer.stop()

        asyncio.run(send())

    def count(self, name: str) -> int:
        """How many committed records the topic holds (transaction markers not counted)."""
        return len(self.records(name))

    def records(self, name: str) -> list[Any]:
        """Every committed record now on the topic, in partition then offset order."""

        async def read() -> list[Any]:
            topic = self.topic(name)
            consumer = AIOKafkaConsumer(
                **self.kafka.options,
                enable_auto_commit=False,
                isolation_level="read_committed",
            )
            await consumer.start()
            try:
                tps = [TopicPartition(topic, p) for p in range(self.partitions)]
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                ends = await consumer.end_offsets(tps)
                out: list[Any] = []
                deadline = asyncio.get_running_loop().time() + 30
                # Positions, not record offsets: transaction markers take offsets too.
                while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                    assert asyncio.get_running_loop().time() < deadline, f"{topic} unreadable"
                    for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                        out.extend(r for r in records if r.offset < ends[tp])
                return sorted(out, key=lambda r: (r.partition, r.offset))
            finally:
                # aiokafka 0.14 may surface the cancellation of its own offset-reset task here.
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer.stop()

        return asyncio.run(read())


def inherited_environment() -> dict[str, str]:
    """This shell's environment without alertfold's own settings, for a product that must
    run on its defaults plus what the caller sets."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith("ALERTFOLD_")
    }


def _kib(text: str) -> int:
    return int(text.split()[0])
