"""`alertfold up`: the whole product as child processes, started and stopped together.

Each part (workers, projector, auditor, presenter, notifier, API, and Slack interactions over
Socket Mode when an app token is set; the API serves Slack's HTTP mode itself when a signing
secret is set) runs in its own process, exactly as it does in production, so `up` exercises
the same code paths; `ALERTFOLD_WORKERS` and `ALERTFOLD_REPLICAS` ask for several processes
of a part. The local broker `up` started is watched like any part. A child that dies is
started again after a pause (`app.restarts`); one that cannot be helped that way (a
configuration error, or crashing again and again) stops the others too, rather than leaving a
half-working product that looks alive.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Protocol

from app.metrics import CHILD_UP, RESTARTS
from app.restarts import Restarts
from app.telemetry import replica_base_port, serve_metrics
from infra.local_kafka import LocalKafka, LocalKafkaError
from infra.settings import Settings

PARTS = ("worker", "projector", "auditor", "presenter", "notifier", "api")
log = logging.getLogger("alertfold.up")
_json_logs = False  # what `up` says goes to the log as JSON too, rather than printed


class Child(Protocol):
    """Something `up` keeps running: a part's process or the local broker."""

    name: str

    def start(self) -> None: ...

    def poll(self) -> int | None: ...


class PartProcess:
    """One process of a part: `alertfold <part>`."""

    def __init__(self, name: str, part: str, env: dict[str, str]) -> None:
        self.name = name
        self.part = part
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", self.part], env=self._env)

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()


class BrokerProcess:
    """The local broker `up` started: launched again without waiting for it to serve, since
    every part retries until it does."""

    name = "local Kafka"

    def __init__(self, broker: LocalKafka) -> None:
        self.broker = broker
        self._failed = False

    def start(self) -> None:
        try:
            self.broker.launch()
            self._failed = False
        except LocalKafkaError as error:
            _say(f"the local Kafka could not start: {error.summary}")
            self._failed = True

    def poll(self) -> int | None:
        """A start that failed counts as a crash, like a broker that dies while starting."""
        return 1 if self._failed else self.broker.poll()


def _say(message: str) -> None:
    if _json_logs:
        log.info(message)
    else:
        print(f"alertfold: {message}", flush=True)


def planned_parts(settings: Settings) -> list[tuple[str, str]]:
    """(name, part) of every part process to run; replicas are told apart by a number."""
    parts = PARTS + (("interactions",) if settings.slack_app_token else ())
    planned = []
    for part in parts:
        count = settings.replicas_of(part)
        planned += [(part if count == 1 else f"{part} {n}", part) for n in range(1, count + 1)]
    return planned


def numbered(planned: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(name, part, n): each planned process with its number among its part's (from 1)."""
    seen: dict[str, int] = {}
    out = []
    for name, part in planned:
        seen[part] = seen.get(part, 0) + 1
        out.append((name, part, seen[part]))
    return out


def run_everything(settings: Settings) -> int:
    global _json_logs
    _json_logs = settings.log_format == "json"
    metrics = serve_metrics(settings, "up")
    try:
        return _run_children(settings)
    finally:
        if metrics is not None:
            metrics.close()


def _run_children(settings: Settings) -> int:
    broker, servers = _kafka(settings)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": servers}
    parts = [
        PartProcess(
            name,
            part,
            {**env, "ALERTFOLD_METRICS_PORT": str(replica_base_port(settings, replica))},
        )
        for name, part, replica in numbered(planned_parts(settings))
    ]
    if settings.workers > settings.partitions:
        _say(
            f"{settings.workers - settings.partitions} of {settings.workers} workers will "
            f"stay idle: there are only {settings.partitions} partitions to share"
        )
    for part in parts:
        part.start()
    children: list[Child] = [*parts, *([BrokerProcess(broker)] if broker else [])]
    for child in children:
        CHILD_UP.labels(child.name).set(1)
    stopping = False

    def _stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{settings.api_host}:{settings.api_port}"
    announced = False
    exit_code = 0
    watch = _Watch(children)
    try:
        while not stopping:
            if not watch.step(time.monotonic()):
                exit_code = 1
                break
            if not announced and _answers(f"{url}/ping"):
                announced = True
                _say(
                    f"up. API listening on {url} (Kafka {servers}, views in "
                    f"{settings.effective_database_url}, Slack "
                    f"{'dry-run' if settings.dry_run else 'live'}). Ctrl-C stops everything."
                )
            time.sleep(0.5)
    finally:
        _say("stopping")
        _terminate([p.process for p in parts if p.process is not None])
        if broker is not None:
            broker.stop()
            _say("local Kafka stopped (its data is kept)")
    return exit_code


class _Watch:
    """Starts dead children again when their pause is over; says when to give up."""

    def __init__(self, children: list[Child]) -> None:
        self._children = children
        self._restarts = Restarts()
        self._due: dict[str, float] = {}  # crashed children and when to start them again

    def step(self, now: float) -> bool:
        """One look at every child; False when one must not be started again."""
        for child in self._children:
            due = self._due.get(child.name)
            if due is not None:
                if due <= now:
                    del self._due[child.name]
                    _say(f"starting the {child.name} again")
                    child.start()
                    RESTARTS.labels(child.name).inc()
                    CHILD_UP.labels(child.name).set(1)
                continue
            code = child.poll()
            if code is None:
                continue
            CHILD_UP.labels(child.name).set(0)
            pause = self._restarts.after_crash(child.name, code, now)
            if pause is None:
                _say(f"the {child.name} exited with code {code}; stopping the rest")
                return False
            _say(
                f"the {child.name} exited with code {code}; starting it again in {pause:.0f} s "
                f"({self._restarts.describe(child.name)})"
            )
            self._due[child.name] = now + pause
        return True


def _kafka(settings: Settings) -> tuple[LocalKafka | None, str]:
    """Use the configured cluster, or a local broker already running, or start one."""
    if settings.kafka_bootstrap_servers:
        return None, settings.kafka_bootstrap_servers
    data_dir = Path(settings.data_dir) / "kafka"
    running = LocalKafka.find_running(data_dir)
    if running is not None:
        _say(f"using the local Kafka already running on {running.bootstrap_servers}")
        return None, running.bootstrap_servers
    broker = LocalKafka(settings.cache_dir, data_dir, port=settings.kafka_port, progress=_say)
    broker.ensure_jars()
    servers = broker.start()
    _say(f"local Kafka listening on {servers}")
    return broker, servers


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _terminate(children: list[subprocess.Popen[bytes]], grace: float = 20.0) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
