"""`alertfold up`: the whole product as child processes, started and stopped together.

Each part (worker, projector, auditor, presenter, notifier, API, and Slack interactions over
Socket Mode when an app token is set; the API serves Slack's HTTP mode itself when a signing
secret is set) runs in its own process, exactly as it does in production, so `up` exercises
the same code paths. A part that crashes is started again after a pause (`app.restarts`);
one that cannot be helped that way (a configuration error, or crashing again and again)
stops the others too, rather than leaving a half-working product that looks alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from app.restarts import Restarts
from infra.local_kafka import LocalKafka
from infra.settings import Settings

PARTS = ("worker", "projector", "auditor", "presenter", "notifier", "api")


def _say(message: str) -> None:
    print(f"alertfold: {message}", flush=True)


def run_everything(settings: Settings) -> int:
    broker, servers = _kafka(settings)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": servers}
    parts = PARTS + (("interactions",) if settings.slack_app_token else ())
    children = {part: _start(part, env) for part in parts}
    restarts = Restarts()
    due: dict[str, float] = {}  # crashed parts and when to start them again
    stopping = False

    def _stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{settings.api_host}:{settings.api_port}"
    announced = False
    exit_code = 0
    try:
        while not stopping:
            now = time.monotonic()
            for part in [p for p, at in due.items() if at <= now]:
                del due[part]
                _say(f"starting the {part} again")
                children[part] = _start(part, env)
            dead = {
                p: c.returncode
                for p, c in children.items()
                if p not in due and c.poll() is not None
            }
            if dead:
                part, code = next(iter(dead.items()))
                pause = restarts.after_crash(part, code, now)
                if pause is None:
                    _say(f"the {part} exited with code {code}; stopping the rest")
                    exit_code = 1
                    break
                _say(
                    f"the {part} exited with code {code}; starting it again in {pause:.0f} s "
                    f"({restarts.describe(part)})"
                )
                due[part] = now + pause
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
        _terminate(list(children.values()))
        if broker is not None:
            broker.stop()
            _say("local Kafka stopped (its data is kept)")
    return exit_code


def _start(part: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "app.cli", part], env=env)


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
