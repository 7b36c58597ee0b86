"""Failover: a worker frozen (SIGSTOP) while alerts flow; how long until its channels fold again.

Two workers share the partitions. Each trial freezes the second one and keeps sending an alert
every 50 ms to a channel of a partition it owned; the figure is the time from the freeze to
the first issue event for an alert sent after it, which includes the group noticing (the
worker's 10 s session) and the survivor taking the partition over (fencing, reading back its
state). The frozen worker is then woken (its late writes are fenced) and the group settles
with both again before the next trial.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import statistics
import time
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.issue_table import partition_for_channel
from bench.alerts import alert_json, channel_id
from bench.context import BenchContext
from bench.figures import Figure, Target
from domain.alert import Alert
from harness.product import Product
from harness.waiting import eventually
from wire.alerts import encode_alert

TRIALS = 5
SEND_EVERY_S = 0.05
CHANNELS = 64


def run(ctx: BenchContext) -> list[Figure]:
    trials = ctx.size(TRIALS, 1)
    seconds: list[float] = []
    # At info the workers log the partitions they own, which is what is timed here.
    with ctx.product("failover", ALERTFOLD_TICK_SECONDS="0", ALERTFOLD_LOG_LEVEL="info") as product:
        product.create_topics()
        product.start("worker")
        product.start("worker", name="worker-2")
        woken = 0  # how many times worker-2 had said what it owns when it last woke
        for trial in range(trials):
            owned = _settled(product, woken)
            ctx.say(f"trial {trial + 1}: freezing worker-2 (partitions {owned})")
            took = asyncio.run(_freeze_and_time(product, owned, f"f{trial}"))
            seconds.append(took)
            ctx.say(f"  its channels folded again after {took:.1f} s")
            woken = len(_ownership_lines(product, "worker-2"))
            product.signal("worker-2", signal.SIGCONT)
    setup = {
        "trials": trials,
        "partitions": ctx.partitions,
        "workers": 2,
        "session_timeout_s": 10,
        "seconds": [round(s, 2) for s in seconds],
        "measured": "SIGSTOP of one worker to the first issue event of an alert sent after it "
        "on one of its partitions",
    }
    return [
        Figure(
            "failover",
            "frozen worker to its channels folding, median",
            statistics.median(seconds),
            "s",
            setup=setup,
        ),
        Figure(
            "failover",
            "frozen worker to its channels folding, max",
            max(seconds),
            "s",
            Target(25, False),
            dict(setup),
        ),
    ]


def _settled(product: Product, woken: int) -> list[int]:
    """Wait until both workers own partitions, worker-2 by an assignment it got after it last
    woke (the line before is stale); the second one's."""

    def both() -> list[int] | None:
        product.check_alive()
        second_lines = _ownership_lines(product, "worker-2")
        if len(second_lines) <= woken:
            return None
        first, second = _owned(_ownership_lines(product, "worker")), _owned(second_lines)
        if first and second and len(first) + len(second) == product.partitions:
            return second
        return None

    return eventually(both, timeout=120, interval=0.2, what="two workers sharing partitions")


def _ownership_lines(product: Product, name: str) -> list[str]:
    return re.findall(r"worker owns partitions \[([0-9, ]*)\]", product.log(name))


def _owned(lines: list[str]) -> list[int]:
    return [int(p) for p in lines[-1].split(",") if p.strip()] if lines else []


async def _freeze_and_time(product: Product, owned: list[int], run: str) -> float:
    channel = next(
        channel_id(n)
        for n in range(10_000)
        if partition_for_channel(channel_id(n), product.partitions) in owned
    )
    partition = partition_for_channel(channel, product.partitions)
    producer = AIOKafkaProducer(bootstrap_servers=product.bootstrap, acks="all")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=product.bootstrap, isolation_level="read_committed"
    )
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(product.topic("issue-events"), partition)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        product.signal("worker-2", signal.SIGSTOP)
        frozen_at = time.monotonic()
        sender = asyncio.create_task(_send(producer, product, channel, run))
        try:
            while True:
                for record in (await consumer.getmany(tp, timeout_ms=200)).get(tp, []):
                    event = json.loads(record.value or b"{}")
                    if str(event.get("correlation_id", "")).startswith(f"{run}-"):
                        return time.monotonic() - frozen_at
                if time.monotonic() - frozen_at > 120:
                    raise TimeoutError("the frozen worker's channels did not fold within 120 s")
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    finally:
        await producer.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def _send(producer: AIOKafkaProducer, product: Product, channel: str, run: str) -> None:
    topic = product.topic("alerts")
    for index in range(1_000_000):
        obj = {**alert_json(index, channels=CHANNELS, run=run), "slackChannelId": channel}
        value = encode_alert(Alert.from_json_obj(obj), datetime.now(UTC))
        await producer.send_and_wait(topic, value, key=channel.encode())
        await asyncio.sleep(SEND_EVERY_S)
