"""Fold throughput and worker memory: alerts pre-loaded on `alerts`, folded by one worker.

The throughput run also has the projector follow the fold into the lookup view, and says how
far it fell behind: the most events it lagged (sampled every second from its stored
positions) and how long it took to catch up once the fold stopped.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.alerts import alert_records
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import Arrival, produce, wait_for_total
from bench.profiling import Profiler
from harness.product import Memory, Product
from infra.database import create_database_engine
from projections.lookup_store import LookupStore

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
    projector_lag: dict[str, float] = field(default_factory=dict)

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
    *,
    projector: bool = False,
    workers: int = 1,
) -> Folded:
    """Load `count` alerts, start the workers, wait until `issue-events` holds one per alert
    (or, with a `window`, for that many seconds of folding); with `projector`, the projector
    follows the fold meanwhile."""
    product.create_topics()
    records = alert_records(count, channels=CHANNELS, alerts_per_issue=alerts_per_issue)
    ctx.say(f"pre-loading {count:,} alerts on {product.topic('alerts')}")
    shown = ctx.progress("pre-load", count)
    asyncio.run(produce(product.kafka, product.topic("alerts"), records, shown))
    watch = _ProjectorWatch(product) if projector else None
    if watch is not None:
        product.start("projector")
    ctx.say(f"starting {workers} worker(s) and waiting for one issue event per alert")
    started = time.time()
    pid = product.start("worker")
    for number in range(2, workers + 1):
        product.start("worker", name=f"worker-{number}")
    profiler = Profiler.attach(pid, ctx.profiles_dir / "fold-worker") if ctx.profile else None
    shown = ctx.progress("fold", count)
    if watch is not None:
        shown = watch.sampling(shown)
    arrival = asyncio.run(
        wait_for_total(
            product.kafka,
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
    lag = watch.catch_up(arrival.total) if watch is not None else {}
    return Folded(count, arrival, arrival.first_seen_at - started, memory, profile, lag)


class _ProjectorWatch:
    """The projector's progress, read from the positions it stores with the view."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.topic = product.topic("issue-events")
        self.most_behind = 0
        self._total = 0
        self._sampled = 0.0
        self._store: LookupStore | None = None

    def applied(self) -> int:
        if self._store is None:
            url = f"sqlite:///{self.product.workdir / 'data' / 'alertfold.db'}"
            self._store = LookupStore(create_database_engine(url))
        try:
            return sum(self._store.positions("lookup", self.topic).values())
        except Exception:
            return 0  # the projector has not made its tables yet

    def sampling(self, shown: Callable[[int], None]) -> Callable[[int], None]:
        def progress(total: int) -> None:
            shown(total)
            if time.monotonic() - self._sampled >= 1.0:
                self._sampled = time.monotonic()
                self.most_behind = max(self.most_behind, total - self.applied())

        return progress

    def catch_up(self, total: int) -> dict[str, float]:
        behind_at_end = total - self.applied()
        started = time.monotonic()
        while self.applied() < total and time.monotonic() - started < 300:
            self.product.check_alive()
            time.sleep(0.05)
        return {
            "projector_most_behind_events": max(self.most_behind, behind_at_end),
            "projector_behind_at_end_events": behind_at_end,
            "projector_catch_up_s": round(time.monotonic() - started, 2),
        }


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(100_000, 2_000)
    per_issue = 10
    with ctx.product("fold", ALERTFOLD_TICK_SECONDS="0") as product:
        folded = fold_preloaded(ctx, product, count, per_issue, window=WINDOW_S, projector=True)
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
        "projector": "following the fold into the lookup view (SQLite)",
        **folded.projector_lag,
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
            setup={**setup, "workers": 2, "fold_s": round(two.fold_s, 2), "projector": "off"},
        ),
        Figure("fold", "worker start-up to first event", folded.startup_s, "s", setup=dict(setup)),
        Figure(
            "fold",
            "projector behind the fold, at most",
            folded.projector_lag["projector_most_behind_events"],
            "events",
            setup=dict(setup),
        ),
        Figure(
            "fold",
            "projector catch-up after the fold",
            folded.projector_lag["projector_catch_up_s"],
            "s",
            Target(1.0, False),
            dict(setup),
        ),
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
