"""A broker of a three-broker cluster dies while alerts flow through the API: alertfold carries
on with the two left, no part restarted; no accepted alert is lost and none is folded twice.

The test runs its own cluster (the project's local brokers, one JVM each), apart from the
session's single broker, since it kills one of them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from harness.waiting import eventually
from infra.local_kafka import LocalKafkaCluster, java_version_ok
from tests.support.kafka import JAR_CACHE_DIR
from tests.support.product import Product, running_product

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_version_ok(), reason="needs Java 17+ for its own local brokers"),
]

SENDERS = 4
BROKERS = 3

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    header: str
    correlation_id: str
    sent: float
    answered: float
    status: int | None


class Senders:
    """Threads posting one alert per request until stopped; each thread keeps to one issue."""

    def __init__(self, api_url: str, channel: str) -> None:
        self._api_url = api_url
        self._channel = channel
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(SENDERS)]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def accepted_since(self, start: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if a.sent >= start and a.status == 202]

    def _send(self, sender: int) -> None:
        with httpx.Client(base_url=self._api_url, timeout=60) as client:
            n = 0
            while not self._stop.is_set():
                header, correlation_id = f"alert {sender}-{n}", f"c{sender}"
                n += 1
                alert = {
                    "slackChannelId": self._channel,
                    "correlationId": correlation_id,
                    "header": header,
                    "issueFollowUpEnabled": True,
                    "autoResolveSeconds": 3600,
                }
                sent = time.monotonic()
                try:
                    status: int | None = client.post("/alert", json=alert).status_code
                except httpx.HTTPError:
                    status = None
                with self._lock:
                    self.answers.append(
                        Answer(header, correlation_id, sent, time.monotonic(), status)
                    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaCluster]:
    kafka = LocalKafkaCluster(
        JAR_CACHE_DIR, tmp_path_factory.mktemp("cluster"), brokers=BROKERS, progress=log.info
    )
    kafka.start(timeout=300)
    log.info("a cluster of %d brokers started in %.1f s", BROKERS, kafka.last_start_seconds)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture
def product(cluster: LocalKafkaCluster, tmp_path: Path) -> Iterator[Product]:
    with running_product(cluster.bootstrap_servers, tmp_path / "product") as product:
        yield product


def describe(servers: str, topic: str) -> tuple[dict[str, Any], str]:
    """The topic's partitions and its min.insync.replicas."""

    async def ask() -> tuple[dict[str, Any], str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
            (configs,) = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})]
            )
            entries = configs.resources[0][4]
            return described, next(str(e[1]) for e in entries if e[0] == "min.insync.replicas")
        finally:
            await admin.close()

    return asyncio.run(ask())


def alert_headers(product: Product, topic: str, channel: str) -> list[str]:
    """The header of every alert on `alerts` or folded into `issue-events` for the channel."""
    headers = []
    for record in product.records(topic):
        value = json.loads(record.value)
        alert = value.get("alert") or value.get("data", {}).get("alert")
        if record.key == channel.encode() and alert is not None:
            headers.append(alert["header"])
    return headers


@pytest.mark.timeout(420)
def test_a_broker_killed_under_load_loses_no_accepted_alert_and_folds_none_twice(
    cluster: LocalKafkaCluster, product: Product
) -> None:
    channel = f"CR{uuid.uuid4().hex[:8].upper()}"
    alerts, insync = describe(product.bootstrap, product.topic("alerts"))
    assert {len(p["replicas"]) for p in alerts["partitions"]} == {BROKERS}
    assert insync == "2"

    with Senders(product.api_url, channel) as senders:
        eventually(
            lambda: len(alert_headers(product, "issue-events", channel)) >= 50,
            timeout=90,
            what="the worker to fold the first alerts",
        )
        # The active controller: its death also moves the controller quorum's leadership.
        victim = cluster.node(cluster.quorum_leader() or 1)
        os.kill(victim.pid or 0, signal.SIGKILL)
        killed = time.monotonic()
        assert victim.wait(60) == -signal.SIGKILL
        log.info("killed broker %d, the active controller", victim.member.node_id)
        eventually(
            lambda: len(senders.accepted_since(killed + 10)) >= 50,
            timeout=120,
            what="alerts accepted well after the kill",
        )
        product.check_alive()

    answers = senders.answers
    accepted = [a for a in answers if a.status == 202]
    log.info(
        "%d requests: %d accepted, %d refused; the slowest answer took %.1f s",
        len(answers),
        len(accepted),
        len(answers) - len(accepted),
        max(a.answered - a.sent for a in answers),
    )
    assert {a.status for a in answers} <= {202, 503}

    logged = alert_headers(product, "alerts", channel)
    assert not [h for h, n in Counter(logged).items() if n > 1], "an alert logged twice"
    assert {a.header for a in accepted} <= set(logged), "an accepted alert is not in the log"

    def all_folded() -> list[str] | None:
        product.check_alive()
        folded = alert_headers(product, "issue-events", channel)
        return folded if len(folded) >= len(logged) else None

    folded = eventually(all_folded, timeout=120, interval=1, what=f"{len(logged)} alerts folded")
    assert sorted(folded) == sorted(logged), "an alert folded twice, or not at all"
    event_ids = [json.loads(r.value)["event_id"] for r in product.records("issue-events")]
    assert len(event_ids) == len(set(event_ids))

    correlation_of = {a.header: a.correlation_id for a in answers}
    expected = Counter(correlation_of[header] for header in logged)

    def counted() -> dict[str, int] | None:
        issues = product.issues(channel_id=channel)
        counts = {i["correlation_id"]: i["alert_count"] for i in issues}
        return counts if counts == expected else None

    eventually(counted, timeout=60, what=f"the view to count {dict(expected)}")
    product.check_alive()
