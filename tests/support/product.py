"""alertfold as a user runs it: `alertfold worker`, `projector`, `auditor`, `api` as processes.

Each product gets its own topic prefix and database, so tests share one broker without
seeing each other's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from infra.local_kafka import free_port
from tests.support.waiting import eventually

PARTS = ("worker", "projector", "auditor", "api")


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
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ALERTFOLD_API_PORT']}"

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    # processes --------------------------------------------------------------------------

    def start(self, part: str) -> None:
        log = (self.workdir / f"{part}.log").open("ab")
        self.processes[part] = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", part],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        if part == "api":
            eventually(self._api_answers, timeout=60, what=f"the API on {self.api_url}")

    def stop(self, part: str, sig: signal.Signals = signal.SIGTERM) -> int:
        process = self.processes.pop(part)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def check_alive(self) -> None:
        """Fail at once, with its log, when a part of the product has died."""
        for part, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"the {part} exited with {process.returncode}:\n{self.log(part)[-4000:]}"
                )

    def command(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a one-shot `alertfold` command (e.g. `replay`) against this product."""
        return subprocess.run(
            [sys.executable, "-m", "infra.cli", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log(self, part: str) -> str:
        return (self.workdir / f"{part}.log").read_text(errors="replace")

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

    def produce(
        self, name: str, value: bytes | None, key: bytes | None = None, partition: int | None = None
    ) -> None:
        async def send() -> None:
            # Up to the `alerts` topic's own limit, so tests can put oversized values there.
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", max_request_size=8 * 1024 * 1024
            )
            await producer.start()
            try:
                await producer.send_and_wait(self.topic(name), value, key=key, partition=partition)
            finally:
                await producer.stop()

        asyncio.run(send())

    def count(self, name: str) -> int:
        """How many records the topic holds (the sum of its partitions' end offsets)."""

        async def count() -> int:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
            await consumer.start()
            try:
                topic = self.topic(name)
                partitions = range(int(self.env["ALERTFOLD_PARTITIONS"]))
                ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
                return sum(ends.values())
            finally:
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer.stop()

        return asyncio.run(count())

    def records(self, name: str) -> list[Any]:
        """Every record now on the topic, in partition then offset order."""

        async def read() -> list[Any]:
            topic = self.topic(name)
            consumer = AIOKafkaConsumer(
                topic,
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            try:
                partitions = range(int(self.env["ALERTFOLD_PARTITIONS"]))
                ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
                out: list[Any] = []
                seen = dict.fromkeys(ends, 0)
                deadline = asyncio.get_running_loop().time() + 30
                while any(seen[tp] < end for tp, end in ends.items()):
                    assert asyncio.get_running_loop().time() < deadline, f"{topic} unreadable"
                    for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                        mine = [r for r in records if r.offset < ends[tp]]
                        out.extend(mine)
                        if records:
                            seen[tp] = records[-1].offset + 1
                return sorted(out, key=lambda r: (r.partition, r.offset))
            finally:
                # aiokafka 0.14 may surface the cancellation of its own offset-reset task here.
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer.stop()

        return asyncio.run(read())


@contextmanager
def running_product(
    bootstrap: str, workdir: Path, database_url: str | None = None, **env: str
) -> Iterator[Product]:
    workdir.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ALERTFOLD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
        "ALERTFOLD_DATA_DIR": str(workdir / "data"),
        "ALERTFOLD_API_PORT": str(free_port()),
        "ALERTFOLD_PARTITIONS": "4",
        "ALERTFOLD_LOG_LEVEL": "info",
        **({"DATABASE_URL": database_url} if database_url else {}),
        **env,
    }
    product = Product(env=environment, workdir=workdir)
    try:
        for part in PARTS:
            product.start(part)
        yield product
    finally:
        for part in list(product.processes):
            product.stop(part)
