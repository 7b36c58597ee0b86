"""Kafka forgets a consumer group's offsets once the group has been empty long enough
(`offsets.retention.minutes`, 7 days by default): workers stopped over a long weekend come
back to a group without offsets. They must carry on where the fold stood, not read their
inputs from the beginning and fold every alert a second time."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DeleteGroupsRequest

from agents.issue_table import partition_for_channel
from harness.waiting import eventually
from tests.support.product import Product, running_product
from wire.ticks import encode_tick

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CHANNEL = f"CF{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def post(product: Product, n: int, correlation_id: str = "disk-full") -> None:
    alert = {
        "slackChannelId": CHANNEL,
        "correlationId": correlation_id,
        "header": f"Disk full ({n})",
        "issueFollowUpEnabled": True,
        "autoResolveSeconds": 3600,
    }
    assert product.post("/alert", alert).status_code == 202


def archive_everything(product: Product) -> None:
    """A tick two days ahead: past every deadline, so the channel's issues are archived and
    the fold keeps nothing of them."""
    partition = partition_for_channel(CHANNEL, product.partitions)
    later = datetime.now(UTC) + timedelta(days=2)
    product.produce("ticks", encode_tick(later), partition=partition)


def forget_offsets(product: Product, group: str) -> None:
    """What Kafka does to an empty group's offsets after the retention: delete the group.
    The stopped worker's leaving may still be under way: until then the group is not empty
    (error 68) and the deletion is asked again."""

    async def delete() -> int:
        admin = AIOKafkaAdminClient(**product.kafka.options)
        await admin.start()
        try:
            coordinator = await admin.find_coordinator(group)
            response: Any = await admin._send_request(DeleteGroupsRequest([group]), coordinator)
            [(name, error)] = [tuple(r) for r in response.results]
            assert name == group
            return int(error)
        finally:
            await admin.close()

    eventually(
        lambda: asyncio.run(delete()) == 0, timeout=60, interval=0.5, what=f"{group} deleted"
    )


def folded_headers(product: Product) -> list[str]:
    return [
        event["data"]["alert"]["header"]
        for event in (json.loads(r.value) for r in product.records("issue-events"))
        if event["channel_id"] == CHANNEL and event["data"].get("alert") is not None
    ]


def test_a_worker_back_after_its_group_offsets_expired_folds_nothing_twice(
    product: Product,
) -> None:
    for n in range(1, 6):
        post(product, n)
    product.wait_for_issue(channel_id=CHANNEL, alert_count=5)
    archive_everything(product)
    product.wait_for_issue(channel_id=CHANNEL, status="archived")
    product.stop("worker")
    forget_offsets(product, f"{product.prefix}alertfold-fold")

    product.start("worker")
    post(product, 6, correlation_id="disk-full-again")

    product.wait_for_issue(channel_id=CHANNEL, correlation_id="disk-full-again")
    assert folded_headers(product) == [f"Disk full ({n})" for n in range(1, 7)]
