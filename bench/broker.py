"""The broker the benchmarks run on: `KAFKA_BOOTSTRAP_SERVERS`, else a local one started here.

The local broker is the project's own `LocalKafka` (the one `alertfold up` and the tests run
when there is no Docker), on free loopback ports and a scratch data directory, stopped at the
end, so a benchmark never writes into a developer's broker by accident.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.local_kafka import KAFKA_VERSION, LocalKafka

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Broker:
    bootstrap_servers: str
    description: str


@contextmanager
def bench_broker(data_dir: Path, say: Callable[[str], None]) -> Iterator[Broker]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if servers:
        yield Broker(servers, f"external broker at {servers} (KAFKA_BOOTSTRAP_SERVERS)")
        return
    broker = LocalKafka(cache_dir=REPO_ROOT / ".cache", data_dir=data_dir, progress=say)
    servers = broker.start(timeout=START_TIMEOUT_S)
    try:
        yield Broker(servers, f"local Apache Kafka {KAFKA_VERSION}, single node, on loopback")
    finally:
        broker.stop()
