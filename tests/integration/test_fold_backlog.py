"""A backlog larger than the worker queues at once: its partition is paused at the consumer
while the fold works through it, and every alert is folded exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from agents.issue_table import partition_for_channel
from agents.partition_lane import PAUSE_AT
from domain.alert import Alert
from harness.waiting import eventually
from tests.support.product import Product, running_product
from wire.alerts import encode_alert

pytestmark = pytest.mark.integration

ALERTS = PAUSE_AT * 5 // 2
CORRELATIONS = 10


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def load_alerts(product: Product, channel: str) -> None:
    """The backlog, written straight onto `alerts` as the API writes each alert."""
    received_at = datetime.now(UTC)
    partition = partition_for_channel(channel, product.partitions)

    async def send() -> None:
        producer = AIOKafkaProducer(**product.kafka.options, acks="all", linger_ms=5)
        await producer.start()
        try:
            sent = []
            for i in range(ALERTS):
                alert = Alert.from_json_obj(
                    {
                        "slackChannelId": channel,
                        "correlationId": f"c{i % CORRELATIONS}",
                        "header": f"alert {i}",
                    }
                )
                value = encode_alert(alert, received_at)
                sent.append(
                    await producer.send(
                        product.topic("alerts"), value, key=channel.encode(), partition=partition
                    )
                )
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    asyncio.run(send())


def test_a_backlog_beyond_what_the_worker_queues_is_folded_exactly_once(
    product: Product,
) -> None:
    channel = f"CB{uuid.uuid4().hex[:8].upper()}"
    assert product.stop("worker") == 0
    load_alerts(product, channel)
    product.start("worker")

    def alert_count() -> int:
        return sum(int(i["alert_count"]) for i in product.issues(channel_id=channel))

    eventually(lambda: alert_count() >= ALERTS, timeout=300, interval=2, what="the backlog")
    events = [
        json.loads(r.value) for r in product.records("issue-events") if r.key == channel.encode()
    ]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids)), "an event was written twice"
    assert sum(e["data"].get("alert") is not None for e in events) == ALERTS
    assert alert_count() == ALERTS
