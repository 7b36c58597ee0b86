"""The benchmarks `python -m bench` knows, in the order it runs them.

To add one: write a module with `run(ctx: BenchContext) -> list[Figure]` that starts what it
needs through `ctx.product(...)` and sizes itself with `ctx.size(full, quick)`, then add a
`Benchmark` line here. `--only NAME` and the table, JSON and plot pick it up from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench import failover, floor, fold, ingest, latency, replay, storm, views
from bench.context import BenchContext
from bench.figures import Figure


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    run: Callable[[BenchContext], list[Figure]]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("floor", "raw aiokafka produce and consume of the alert envelopes", floor.run),
    Benchmark("fold", "alerts pre-loaded on alerts, folded into issue-events", fold.run),
    Benchmark("ingest", "POST /alerts batches from concurrent clients", ingest.run),
    Benchmark("latency", "paced alerts: accepted to visible in the lookup view", latency.run),
    Benchmark("replay", "alertfold replay of issue events into fresh tables", replay.run),
    Benchmark(
        "views", "GET /issues?channel_id=, /issues/{id}, /issues/counts, concurrent", views.run
    ),
    Benchmark("memory", "worker RSS holding many open issues", fold.run_memory),
    Benchmark("failover", "a frozen worker's channels folding again on the other", failover.run),
    Benchmark("storm", "10,000 alerts, 100 issues, one channel, shown in a local Slack", storm.run),
)


def by_name(name: str) -> Benchmark:
    for benchmark in BENCHMARKS:
        if benchmark.name == name:
            return benchmark
    known = ", ".join(b.name for b in BENCHMARKS)
    raise KeyError(f"no benchmark named {name!r}; known: {known}")
