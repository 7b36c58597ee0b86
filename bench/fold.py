"""Fold throughput and worker memory: alerts pre-loaded on `alerts`, folded by one worker.

The alerts are on the topic before the worker starts, so the worker reads as fast as it can.
The clock is off (`ALERTFOLD_TICK_SECONDS=0`): ticks would add events this count does not
expect. The rate runs from the first issue event on the topic to the last one (or to the end
of a time window, for a fold too slow to finish in reasonable time), so it excludes start-up
(Python imports, joining the consumer group, taking the partitions over), reported apart.
Events are counted from the topic's end offsets: the worker writes each event's input record
timestamp, so record timestamps say nothing about when it wrote them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.alerts import alert_records
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import Arrival, produce, wait_for_total
from bench.profiling import Profiler
from harness.product import Memory, Product

CHANNELS = 64
WINDOW_S = 60.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Folded:
    alerts: int
    arrival: Arrival
    startup_s: float
    memory: Memory
    profile: dict[str, Any] | None

    @property
    def rate(self) -> float:
        return self.arrival.rate

    @property
    def fold_s(self) -> float:
        return self.arrival.done_at - self.arrival.first_seen_at


def fold_preloaded(
    ctx: BenchContext,
    product: Product,
    count: int,
    alerts_per_issue: int,
    window: float | None = None,
    workers: int = 1,
) -> Folded:
    """Load `count` alerts, start the workers, wait until `issue-events` holds one per alert
    (or, with a `window`, for that many seconds of folding)."""
    product.create_topics()
    records = alert_records(count, channels=CHANNELS, alerts_per_issue=alerts_per_issue)
    ctx.say(f"pre-loading {count:,} alerts on {product.topic('alerts')}")
    shown = ctx.progress("pre-load", count)
    asyncio.run(produce(product.bootstrap, product.topic("alerts"), records, shown))
    ctx.say(f"starting {workers} worker(s) and waiting for one issue event per alert")
    started = time.time()
    pid = product.start("worker")
    for number in range(2, workers + 1):
        product.start("worker", name=f"worker-{number}")
    profiler = Profiler.attach(pid, ctx.profiles_dir / "fold-worker") if ctx.profile else None
    shown = ctx.progress("fold", count)
    arrival = asyncio.run(
        wait_for_total(
            product.bootstrap,
            product.topic("issue-events"),
            product.partitions,
            count,
            timeout=60 + count / 100 if window is None else 120 + window,
            alive=product.check_alive,
            on_progress=shown,
            window=window,
        )
    )
    memory = product.memory("worker")
    profile = profiler.finish() if profiler else None
    return Folded(count, arrival, arrival.first_seen_at - started, memory, profile)


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(100_000, 2_000)
    per_issue = 10
    with ctx.product("fold", ALERTFOLD_TICK_SECONDS="0") as product:
        folded = fold_preloaded(ctx, product, count, per_issue, window=WINDOW_S)
    with ctx.product("fold-two", ALERTFOLD_TICK_SECONDS="0") as product:
        two = fold_preloaded(ctx, product, count, per_issue, window=WINDOW_S, workers=2)
    setup = {
        "alerts": count,
        "folded": folded.arrival.total,
        "window_s": WINDOW_S,
        "issues": count // per_issue,
        "alerts_per_issue": per_issue,
        "channels": CHANNELS,
        "partitions": ctx.partitions,
        "workers": 1,
        "clock": "off",
        "startup_s": round(folded.startup_s, 2),
        "fold_s": round(folded.fold_s, 2),
        "worker_rss_mib": round(folded.memory.rss / MIB, 1),
        **({"profile": folded.profile} if folded.profile else {}),
    }
    return [
        Figure(
            "fold", "throughput, one worker", folded.rate, "alerts/s", Target(10_000, True), setup
        ),
        Figure(
            "fold",
            "throughput, two workers on this machine",
            two.rate,
            "alerts/s",
            setup={**setup, "workers": 2, "fold_s": round(two.fold_s, 2)},
        ),
        Figure("fold", "worker start-up to first event", folded.startup_s, "s", setup=dict(setup)),
    ]


def run_memory(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(100_000, 2_000)
    with ctx.product("memory", ALERTFOLD_TICK_SECONDS="0") as product:
        folded = fold_preloaded(ctx, product, count, alerts_per_issue=1)
    setup = {
        "open_issues": count,
        "alerts_per_issue": 1,
        "channels": CHANNELS,
        "partitions": ctx.partitions,
        "peak_rss_mib": round(folded.memory.peak / MIB, 1),
        "fold_rate_alerts_per_s": round(folded.rate),
        "measured": "VmRSS of the worker process after the last event",
    }
    return [
        Figure(
            "memory",
            f"worker RSS, {count:,} open issues",
            folded.memory.rss / MIB,
            "MiB",
            Target(500, False),
            setup,
        )
    ]
