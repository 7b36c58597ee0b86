"""Each part's `/metrics` and `/health` on the real product, consumer lag on the real broker,
and `alertfold status` reading them as a person at a terminal would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from app.telemetry import METRICS_OFFSETS
from harness.waiting import eventually
from infra.metrics import ConsumerLag
from projections.issue_event_reading import stop_consumer
from tests.support.metrics import free_metrics_base, has, scrape, total
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

CHANNEL = "C0METRICS"
T = TypeVar("T")


@pytest.fixture(scope="module")
def measured(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    with running_product(
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("metrics"),
        ALERTFOLD_METRICS_PORT=str(free_metrics_base()),
    ) as product:
        yield product


def endpoint(product: Product, part: str) -> str:
    port = int(product.env["ALERTFOLD_METRICS_PORT"]) + METRICS_OFFSETS[part]
    return f"http://127.0.0.1:{port}"


def test_each_part_reports_what_it_did_and_that_it_is_ready(measured: Product) -> None:
    assert measured.post(f"/alert/{CHANNEL}", {"header": "disk full"}).status_code == 202
    measured.wait_for_issue(channel_id=CHANNEL)

    worker = eventually(
        lambda: _when(
            scrape(endpoint(measured, "worker")),
            lambda s: total(s, "alertfold_fold_issue_events_total", type="IssueOpened") >= 1,
        ),
        what="the worker to count the issue it opened",
    )
    assert total(worker, "alertfold_fold_inputs_total", input="alerts") >= 1
    assert total(worker, "alertfold_fold_batch_duration_seconds_count") >= 1
    assert has(worker, "alertfold_consumer_lag_records", consumer="fold", partition="0")
    assert total(worker, "alertfold_fold_partitions_owned") == measured.partitions
    assert total(worker, "alertfold_ready") == 1
    assert has(worker, "alertfold_part_info", part="worker")
    assert total(worker, "process_resident_memory_bytes") > 0

    for part, reader in (("projector", "lookup"), ("auditor", "audit")):
        samples = eventually(
            lambda part=part, reader=reader: _when(
                scrape(endpoint(measured, part)),
                lambda s, reader=reader: (
                    total(s, "alertfold_reader_events_applied_total", reader=reader) >= 1
                    # The lag is refreshed once a second, from what the fetches told.
                    and has(s, "alertfold_consumer_lag_records", consumer=reader)
                ),
            ),
            what=f"the {part} to count what it applied, and its lag",
        )
        assert total(samples, "alertfold_reader_apply_duration_seconds_count", reader=reader) >= 1
        assert has(samples, "alertfold_consumer_lag_records", consumer=reader)

    api = scrape(endpoint(measured, "api"))
    assert total(api, "alertfold_http_requests_total", route="/alert/{channel}", status="202") >= 1
    assert total(api, "alertfold_ingest_alerts_total", outcome="accepted") >= 1

    health = httpx.get(f"{endpoint(measured, 'worker')}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["part"] == "worker"
    assert health.json()["ready"] is True


def test_health_tells_the_last_problem_the_part_logged(measured: Product) -> None:
    measured.produce("alerts", b"{not json", key=CHANNEL.encode())

    def problem() -> dict[str, str] | None:
        report = httpx.get(f"{endpoint(measured, 'worker')}/health", timeout=10).json()
        last: dict[str, str] | None = report["last_problem"]
        return last if last and "dead-lettered" in last["message"] else None

    last = eventually(problem, what="the dead letter as the worker's last problem")
    assert last["level"] == "warning"
    assert last["logger"] == "alertfold.fold"
    worker = scrape(endpoint(measured, "worker"))
    assert total(worker, "alertfold_fold_dead_letters_total", reason="undecodable") >= 1
    assert total(worker, "alertfold_log_messages_total", level="warning") >= 1


def test_status_shows_every_part_ready_with_its_lag_and_a_missing_one_down(
    measured: Product,
) -> None:
    urls = [endpoint(measured, part) for part in ("worker", "projector", "auditor", "api")]
    silent = f"http://127.0.0.1:{int(measured.env['ALERTFOLD_METRICS_PORT']) + 1}"

    shown = eventually(
        lambda: _when(measured.command("status", *urls), lambda done: done.returncode == 0),
        what="every part ready in `alertfold status`",
    )

    rows = [line for line in shown.stdout.splitlines() if "http://127.0.0.1" in line]
    assert len(rows) == 4
    for part, row in zip(("worker", "projector", "auditor", "api"), rows, strict=True):
        assert part in row and "ready" in row and "not ready" not in row
    assert any(char.isdigit() for char in rows[0].split("ready")[1])  # the worker's lag

    with_missing = measured.command("status", *urls[:1], silent)
    assert with_missing.returncode == 1
    assert "down" in with_missing.stdout


def test_a_taken_metrics_port_costs_the_metrics_not_the_part(measured: Product) -> None:
    measured.start("worker", name="second worker")  # the same settings: the same port
    try:
        eventually(
            lambda: "metrics: cannot listen on" in measured.log("second worker"),
            what="the second worker's warning",
        )
        measured.check_alive()
    finally:
        measured.stop("second worker")


async def test_lag_is_what_the_consumer_has_not_read_of_each_partition(
    kafka_bootstrap_servers: str,
) -> None:
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(topic, b"%d" % n, partition=0)
        for n in range(4):
            await producer.send_and_wait(topic, b"%d" % n, partition=1)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    await consumer.start()
    lag = ConsumerLag("test", interval=0)
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)

    def shown(partition: int) -> float | None:
        labels = {"consumer": "test", "topic": topic, "partition": str(partition)}
        return REGISTRY.get_sample_value("alertfold_consumer_lag_records", labels)

    try:
        consumer.assign([first, second])
        await consumer.seek_to_beginning(first, second)
        read = 0
        while read < 3:
            batch = await consumer.getmany(first, timeout_ms=500, max_records=3 - read)
            read += len(batch.get(first, []))
        await _until(lambda: consumer.last_stable_offset(first) is not None)
        await _until(lambda: consumer.last_stable_offset(second) is not None)
        await lag.observe(consumer)
        assert shown(0) == 7
        assert shown(1) == 4

        consumer.assign([first])  # the partition went to another consumer
        await lag.observe(consumer)
        assert shown(1) is None

        lag.clear()
        assert shown(0) is None
    finally:
        await stop_consumer(consumer)


async def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def _when(found: T, test: Callable[[T], bool]) -> T | None:
    return found if test(found) else None
