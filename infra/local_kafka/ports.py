"""Loopback ports for the broker, and waiting until the broker on one really serves.

An open port is not enough: the broker accepts connections before it has registered
with its controller, so readiness is a metadata answer listing the cluster's brokers, all
of them able to take a topic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

from infra.local_kafka.constants import LOOPBACK
from infra.local_kafka.errors import LocalKafkaError, PortInUseError
from infra.local_kafka.progress import Progress, no_progress

_PROGRESS_EVERY_S = 5.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    """Whether binding ``host:port`` would fail, as it would for the broker.

    ``SO_REUSEADDR`` matches the JVM's server sockets, so connections of a previous run
    lingering in TIME_WAIT do not count as "in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    """The host and port of the first ``host:port`` in a bootstrap list."""
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    return host.strip("[]") or LOOPBACK, int(port)


def pick_ports(port: int, controller_port: int) -> tuple[int, int]:
    """The listener and controller ports for a start: the fixed ones, else free ones.

    A fixed port that is taken fails here, before any download or formatting.
    """
    if port:
        if port_in_use(port):
            raise PortInUseError(port)
    else:
        port = free_port()
    if controller_port:
        if port_in_use(controller_port):
            raise PortInUseError(controller_port, role="Kafka controller")
    else:
        controller_port = free_port()
        while controller_port == port:
            controller_port = free_port()
    return port, controller_port


# CreateTopics error codes that mean the broker could create a topic: none, already exists.
_CREATABLE = (0, 36)


async def _metadata_answers(bootstrap: str, timeout: float, brokers: int) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    timeout_ms = max(1000, int(timeout * 1000))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="alertfold-kafka-probe",
        request_timeout_ms=timeout_ms,
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster: dict[str, Any] = await asyncio.wait_for(admin.describe_cluster(), timeout)
        if len(cluster.get("brokers") or ()) < brokers:
            return False
        # A KRaft broker answers metadata while still fenced, and then refuses to create
        # topics ("All brokers are currently fenced"); a dry-run creation with a copy on
        # every broker tells them apart.
        probe = NewTopic("__alertfold_readiness_probe", 1, brokers)
        response = await asyncio.wait_for(
            admin.create_topics([probe], timeout_ms=timeout_ms, validate_only=True), timeout
        )
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return all(error[1] in _CREATABLE for error in response.topic_errors)


def metadata_answers(bootstrap: str, timeout: float = 5.0, brokers: int = 1) -> bool:
    """Whether the broker answers a metadata request listing at least ``brokers`` brokers,
    all unfenced.

    Runs on a private event loop in a worker thread, so it works whether or not the
    caller is inside a running loop.
    """

    def probe() -> bool:
        try:
            return asyncio.run(_metadata_answers(bootstrap, timeout, brokers))
        except Exception:
            return False

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(probe).result()


def wait_for_kafka(
    bootstrap: str,
    timeout: float,
    *,
    progress: Progress = no_progress,
    alive: Callable[[], bool] | None = None,
    brokers: int = 1,
) -> float:
    """Wait until ``bootstrap`` accepts connections and answers metadata requests with
    ``brokers`` brokers ready.

    Returns the seconds waited. Returns early with ``LocalKafkaError`` when ``alive``
    says the broker process is gone, and raises ``TimeoutError`` after ``timeout``.
    """
    host, port = split_bootstrap(bootstrap)
    started = time.monotonic()
    next_report = started + _PROGRESS_EVERY_S
    while True:
        now = time.monotonic()
        if alive is not None and not alive():
            raise LocalKafkaError(f"Kafka exited after {now - started:.1f} s of startup")
        remaining = started + timeout - now
        if remaining <= 0:
            raise TimeoutError(f"Kafka on {bootstrap} was not ready after {timeout:.0f} s")
        if port_accepts(host, port, timeout=min(1.0, remaining)) and metadata_answers(
            bootstrap, timeout=min(5.0, max(1.0, remaining)), brokers=brokers
        ):
            return time.monotonic() - started
        now = time.monotonic()
        if now >= next_report:
            progress(f"waiting for Kafka on {bootstrap}… {now - started:.0f} s")
            next_report = now + _PROGRESS_EVERY_S
        time.sleep(0.25)
