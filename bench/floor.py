"""The floor: raw aiokafka produce (acks=all) and consume of the alert envelopes.

Neither the worker nor the API can move alerts faster than one Python client moves the same
bytes through the same broker, so the other figures are read as a share of these.
"""

from __future__ import annotations

import asyncio

from bench.alerts import alert_records
from bench.context import BenchContext
from bench.figures import Figure
from bench.kafka_io import PRODUCER_SETTINGS, consume, produce

CHANNELS = 64


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(200_000, 2_000)
    with ctx.product("floor") as product:
        product.create_topics()
        topic = product.topic("alerts")
        records = list(alert_records(count, channels=CHANNELS, alerts_per_issue=10))
        size = sum(len(value) for _, value in records) / count
        ctx.say(f"producing {count:,} alert envelopes ({size:,.0f} bytes each)")
        shown = ctx.progress("produce", count)
        sent, produce_s = asyncio.run(produce(product.kafka, topic, records, shown))
        ctx.say(f"consuming them back from offset 0 ({sent:,} records)")
        consumed = asyncio.run(
            consume(
                product.kafka,
                topic,
                product.partitions,
                count,
                timeout=300,
                on_progress=ctx.progress("consume", count),
            )
        )
    setup = {
        "records": count,
        "value_bytes": round(size),
        "partitions": ctx.partitions,
        "channels": CHANNELS,
        "producer": {**PRODUCER_SETTINGS, "in_flight": "5,000 futures"},
        "client": "one aiokafka client in one Python process",
    }
    return [
        Figure("floor", "aiokafka produce, acks=all", count / produce_s, "msg/s", setup=setup),
        Figure("floor", "aiokafka consume", count / consumed.seconds, "msg/s", setup=setup),
    ]
