"""The broker the project runs without Docker is a working Kafka, and keeps its data."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.local_kafka import LocalKafka, java_version_ok, parse_properties
from tests.support.kafka import JAR_CACHE_DIR, REPO_ROOT

pytestmark = pytest.mark.integration

T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a private loop, apart from the session's event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def produce(servers: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume(servers: str, topic: str, count: int, timeout: float = 60) -> list[Any]:
    """The first ``count`` records of ``topic`` (from the beginning, as a consumer group)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=unique("test-group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < count:
                batches = await consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


def test_produce_consume_round_trip(kafka_bootstrap_servers: str) -> None:
    topic = unique("round-trip")
    sent = [(f"C{i % 3}".encode(), f"alert {i}".encode()) for i in range(20)]

    run_async(lambda: produce(kafka_bootstrap_servers, topic, sent))
    received = run_async(lambda: consume(kafka_bootstrap_servers, topic, len(sent)))

    assert sorted((r.key, r.value) for r in received) == sorted(sent)
    by_key: dict[bytes, set[int]] = {}
    for record in received:
        by_key.setdefault(record.key, set()).add(record.partition)
    assert all(len(partitions) == 1 for partitions in by_key.values()), by_key


def test_creates_a_topic_with_eight_partitions(kafka_bootstrap_servers: str) -> None:
    topic = unique("eight")

    async def create_and_describe() -> tuple[set[int], dict[str, Any]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])
            partitions: set[int] = set()
            async with asyncio.timeout(30):
                while True:
                    (described,) = await admin.describe_topics([topic])
                    partitions = {p["partition"] for p in described["partitions"]}
                    leaders = {p["leader"] for p in described["partitions"]}
                    if described["error_code"] == 0 and len(partitions) == 8 and -1 not in leaders:
                        break
                    await asyncio.sleep(0.2)
            return partitions, await admin.describe_cluster()
        finally:
            await admin.close()

    partitions, cluster = run_async(create_and_describe)

    assert partitions == set(range(8))
    assert len(cluster["brokers"]) == 1


def alertfold(
    *args: str, env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run the real ``alertfold`` command line in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.skipif(not java_version_ok(), reason="the local broker needs Java 17+")
def test_detached_broker_restarts_on_its_data(tmp_path: Path) -> None:
    """`alertfold kafka start` returns and leaves the broker running; `stop` from another
    process stops it; a restart on the same data reads the message written before, without
    formatting the storage again."""
    data = tmp_path / "alertfold"
    broker_dir = data / "kafka"
    options = ["--port", "0", "--data-dir", str(data), "--cache-dir", str(JAR_CACHE_DIR)]
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    topic = unique("kept")
    message = (b"C-restart", b"survives a restart")
    try:
        started = alertfold("kafka", "start", *options, env=env)
        assert started.returncode == 0, started.stderr
        match = re.search(r"Kafka listening on (127\.0\.0\.1:\d+)", started.stdout)
        assert match, started.stdout
        first_servers = match.group(1)
        running = LocalKafka.find_running(broker_dir)
        assert running is not None and running.bootstrap_servers == first_servers
        meta = broker_dir / "log-dir" / "meta.properties"
        cluster_id = parse_properties(meta.read_text())["cluster.id"]

        run_async(lambda: produce(first_servers, topic, [message]))

        status = alertfold("kafka", "status", *options, env=env)
        assert status.returncode == 0 and first_servers in status.stdout, status
        stopped = alertfold("kafka", "stop", *options, env=env)
        assert stopped.returncode == 0 and "Kafka stopped" in stopped.stdout, stopped
        assert LocalKafka.find_running(broker_dir) is None
        assert not (broker_dir / "kafka.pid").exists()
        assert alertfold("kafka", "status", *options, env=env).returncode == 3

        with LocalKafka(cache_dir=JAR_CACHE_DIR, data_dir=broker_dir) as broker:
            assert not broker.last_start_formatted
            second_servers = broker.bootstrap_servers

            async def read_back() -> tuple[int, list[Any]]:
                admin = AIOKafkaAdminClient(bootstrap_servers=second_servers)
                await admin.start()
                try:
                    (described,) = await admin.describe_topics([topic])
                finally:
                    await admin.close()
                return len(described["partitions"]), await consume(second_servers, topic, 1)

            partition_count, records = run_async(read_back)
        assert partition_count == 8
        assert [(r.key, r.value) for r in records] == [message]
        assert parse_properties(meta.read_text())["cluster.id"] == cluster_id
        assert not broker.running
    finally:
        LocalKafka.stop_running(broker_dir)
