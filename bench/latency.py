"""End-to-end latency at a paced rate: `POST /alerts` accepted → visible in the lookup view.

Every part runs as in production (clock on; the presenter in dry-run). Every 10 ms one POST
carries the next `rate / 100` alerts, each with its own correlation id. The bench consumes
`issue-events` to learn when the fold decided each alert (fold latency, every alert); for
about `SAMPLES` alerts of a run, evenly spread, it then asks `GET /issues?correlation_id=`
with the alert's own position from the 202 (`after=`, read your own writes), which the API
answers once the view has folded past it (end-to-end latency). One such request per sample,
made only after the fold decided, keeps the probes' load on the API small, and the bench
talks HTTP through aiohttp, which costs it far less of the shared cores than httpx; the rate
the posts actually reached is reported beside the figures. The figures are of a warm
installation: unmeasured rounds at each rate come first, until the fold's median at that
rate stops falling (a broker JVM that has just started spends minutes compiling), and each
round starts once the parts are idle.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiokafka.structs import ConsumerRecord

from bench.alerts import alert_json
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import consume
from bench.profiling import Profiler
from bench.stats import milliseconds, percentile
from harness.product import Product
from infra.kafka_clients import KafkaConnection

CHANNELS = 16
TICK_S = 0.010
# How many alerts of a run have their visibility measured (one in `count // SAMPLES`).
SAMPLES = 500
PROBE_WAIT_MS = 10_000
PROBES = 16
# Before each run the parts settle: below this many cores for a second (idle, they use about
# a tenth), for at most SETTLE_MAX_S.
SETTLED_CORES = 0.3
SETTLE_MAX_S = 120.0
# Warm-up rounds at a rate end once a round's fold median is no longer below WARM_ENOUGH of
# the last, after at least WARM_ROUNDS_MIN (the first two rounds at 100 alerts/s gave 128 and
# 140 ms in one run, 100 and 36 in another, whose fourth gave 32).
WARM_ROUND_S = 10
WARM_ROUNDS_MIN = 3
WARM_ROUNDS_MAX = 12
WARM_ENOUGH = 0.8


@dataclass
class Timings:
    """When each alert of one run was accepted, decided by the fold and visible in the view."""

    run: str
    accepted: dict[str, float] = field(default_factory=dict)
    decided: dict[str, float] = field(default_factory=dict)
    visible: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)
    posting_s: float = 0.0
    sample_every: int = 1

    def on_event(self, record: ConsumerRecord[bytes, bytes]) -> None:
        correlation_id = json.loads(record.value or b"{}").get("correlation_id", "")
        if correlation_id.split("-issue-")[0] not in (self.run, f"{self.run}w"):
            return  # an earlier run's event
        self.decided.setdefault(correlation_id, time.perf_counter())
        if correlation_id in self.waiting:
            self.waiting[correlation_id].set()


def run(ctx: BenchContext) -> list[Figure]:
    """At the target's rate, then (full runs) at a tenth of it: the pipeline's own latency
    when it is not saturated, to read the first figure against."""
    rates = (200,) if ctx.quick else (1_000, 100)
    seconds = ctx.size(10, 2)
    measured = []
    with ctx.product("latency") as product:
        for part in ("worker", "projector", "auditor", "presenter", "notifier", "api"):
            product.start(part)
        warm_up = "none" if ctx.quick else _warm_up(ctx, product, rates)
        output = ctx.profiles_dir / "latency-worker"
        profiler = Profiler.attach(product.pid("worker"), output) if ctx.profile else None
        for number, rate in enumerate(rates):
            _settle(ctx, product)
            ctx.say(f"{rate:,} alerts/s for {seconds} s")
            timings = Timings(run=f"r{number}")
            _run(ctx, product, rate, seconds, timings)
            measured.append((rate, timings))
        profile = profiler.finish() if profiler else None
    figures = _figures(ctx, *measured[0], seconds, profile, warm_up, primary=True)
    for rate, timings in measured[1:]:
        figures += _figures(ctx, rate, timings, seconds, None, warm_up, primary=False)
    return figures


def _run(ctx: BenchContext, product: Product, rate: int, seconds: int, timings: Timings) -> None:
    topic = product.topic("issue-events")
    asyncio.run(_measure(ctx, product.api_url, product.kafka, topic, rate, seconds, timings))
    product.check_alive()


def _warm_up(ctx: BenchContext, product: Product, rates: tuple[int, ...]) -> str:
    """Unmeasured rounds at each rate measured, until the fold's median at that rate stops
    falling; says how many.

    A broker that has just started compiles its hot paths for its first minutes, on the
    cores the product shares, and a storm takes paths (larger requests and batches) that a
    quiet minute leaves cold: on a 2-core machine with a fresh broker, two rounds at 1,000
    alerts/s gave a visible p50 of 537 then 173 ms, the fold's median at 100 alerts/s is
    140 to 180 ms at first and about 10 ms once warm. Installations run warm brokers."""
    done = []
    for rate in rates:
        previous = None
        for number in range(1, WARM_ROUNDS_MAX + 1):
            _settle(ctx, product)
            timings = Timings(run=f"w{rate}-{number}")
            _run(ctx, product, rate, WARM_ROUND_S, timings)
            decided = [timings.decided[c] - timings.accepted[c] for c in timings.accepted]
            fold = percentile(decided, 50)
            ctx.say(
                f"warm-up at {rate:,}/s, round {number}: fold median {milliseconds(fold):,.0f} ms"
            )
            if number >= WARM_ROUNDS_MIN and previous is not None and fold > previous * WARM_ENOUGH:
                break
            previous = fold
        done.append(f"{number} at {rate:,}/s")
    return f"unmeasured rounds of {WARM_ROUND_S} s: {', '.join(done)}"


def _settle(ctx: BenchContext, product: Product) -> None:
    """Wait until the parts are nearly idle: starting up, or still working through the
    backlog of the saturated run before, they would take the cores the next run measures."""
    started = time.monotonic()
    used = product.cpu_seconds()
    while time.monotonic() - started < SETTLE_MAX_S:
        time.sleep(1.0)
        product.check_alive()
        now = product.cpu_seconds()
        if now - used < SETTLED_CORES:
            ctx.say(f"parts idle after {time.monotonic() - started:.0f} s ({now - used:.2f} cores)")
            return
        used = now
    ctx.say(f"parts still busy after {SETTLE_MAX_S:.0f} s; measuring anyway")


def _figures(
    ctx: BenchContext,
    rate: int,
    timings: Timings,
    seconds: int,
    profile: dict[str, Any] | None,
    warm_up: str,
    *,
    primary: bool,
) -> list[Figure]:
    fold = [timings.decided[c] - timings.accepted[c] for c in timings.accepted]
    e2e = [timings.visible[c] - timings.accepted[c] for c in timings.visible]
    setup = {
        "rate_alerts_per_s": rate,
        "seconds": seconds,
        "post_every_ms": TICK_S * 1000,
        "alerts_per_post": round(rate * TICK_S),
        "posted_rate_alerts_per_s": round(len(timings.accepted) / timings.posting_s),
        "sampled": f"1 in {timings.sample_every} ({len(e2e)} samples)",
        "fold_p50_ms": round(milliseconds(percentile(fold, 50)), 1),
        "fold_p99_ms": round(milliseconds(percentile(fold, 99)), 1),
        "warm_up": warm_up,
        "partitions": ctx.partitions,
        "parts": "worker, projector, auditor, presenter (dry run), notifier, api; SQLite; clock on",
        **({"worker_profile": profile} if profile else {}),
    }
    at = "" if primary else f" at {rate:,}/s"
    # At the storm's rate the median and the tail; at a tenth of it the tail alone.
    targets = (
        {50: Target(50, False), 99: Target(250, False)} if primary else {99: Target(100, False)}
    )
    return [
        Figure(
            "latency",
            f"accepted → visible{at}, p{p}",
            milliseconds(percentile(e2e, p)),
            "ms",
            targets.get(p),
            setup,
        )
        for p in (50, 99)
    ]


async def _measure(
    ctx: BenchContext,
    url: str,
    kafka: KafkaConnection,
    topic: str,
    rate: int,
    seconds: int,
    timings: Timings,
) -> None:
    count = rate * seconds
    timings.sample_every = max(1, count // SAMPLES)
    warm = [alert_json(i, channels=CHANNELS, run=f"{timings.run}w") for i in range(CHANNELS)]
    consumer = asyncio.create_task(
        consume(
            kafka,
            topic,
            ctx.partitions,
            count + len(warm),
            timeout=120 + count / 50,
            on_record=timings.on_event,
            # An issue may have more events than its alert (a deadline that fired, say).
            until=lambda: len(timings.decided) >= count + len(warm),
        )
    )
    async with _client(64) as http, _client(PROBES) as probe:
        # The first alert of each channel pays for connections and topic metadata: not counted.
        await _post(http, url, json.dumps(warm).encode())
        while len(timings.decided) < len(warm):
            await asyncio.sleep(0.05)
        paced = _paced(ctx, http, probe, url, _posts(rate, count, timings.run), timings)
        await asyncio.wait_for(paced, timeout=120 + count / 50)
        await consumer


def _posts(rate: int, count: int, run: str) -> list[tuple[list[str], bytes]]:
    """Each POST's correlation ids and body, encoded before the clock starts."""
    per_post = max(1, round(rate * TICK_S))
    posts = []
    for first in range(0, count, per_post):
        last = min(first + per_post, count)
        alerts = [alert_json(i, channels=CHANNELS, run=run) for i in range(first, last)]
        posts.append(([str(a["correlationId"]) for a in alerts], json.dumps(alerts).encode()))
    return posts


async def _paced(
    ctx: BenchContext,
    http: aiohttp.ClientSession,
    probe: aiohttp.ClientSession,
    url: str,
    posts: list[tuple[list[str], bytes]],
    timings: Timings,
) -> None:
    """One POST every `TICK_S`, not waiting for answers (an open loop, as producers are)."""
    tasks: list[asyncio.Task[None]] = []
    progress = ctx.progress("posted", len(posts))
    started = time.perf_counter()
    for number, (ids, body) in enumerate(posts):
        await asyncio.sleep(max(0.0, started + number * TICK_S - time.perf_counter()))
        tasks.append(asyncio.create_task(_send(http, probe, url, ids, body, timings)))
        progress(number + 1)
    timings.posting_s = time.perf_counter() - started
    shown = ctx.progress("visible (sampled)", len(timings.waiting))
    while not all(task.done() for task in tasks):
        shown(len(timings.visible))
        await asyncio.sleep(0.5)
    await asyncio.gather(*tasks)
    shown(len(timings.visible))


async def _send(
    http: aiohttp.ClientSession,
    probe: aiohttp.ClientSession,
    url: str,
    ids: list[str],
    body: bytes,
    timings: Timings,
) -> None:
    every = timings.sample_every
    sampled = [i for i, c in enumerate(ids) if int(c.rsplit("-", 1)[1]) % every == 0]
    for index in sampled:
        timings.waiting[ids[index]] = asyncio.Event()
    accepted = await _post(http, url, body)
    now = time.perf_counter()
    for correlation_id in ids:
        timings.accepted[correlation_id] = now
    positions = accepted["positions"]
    marks = [f"{positions[i]['partition']}:{positions[i]['offset']}" for i in sampled]
    await asyncio.gather(
        *(_probe(probe, url, ids[i], mark, timings) for i, mark in zip(sampled, marks, strict=True))
    )


async def _post(http: aiohttp.ClientSession, url: str, body: bytes) -> dict[str, Any]:
    """The 202's body: where each alert went (`positions`, in the order posted)."""
    headers = {"content-type": "application/json"}
    async with http.post(f"{url}/alerts", data=body, headers=headers) as response:
        if response.status != 202:
            answer = await response.text()
            raise AssertionError(f"POST /alerts answered {response.status}: {answer}")
        accepted: dict[str, Any] = await response.json()
        return accepted


def _client(connections: int) -> aiohttp.ClientSession:
    """A client of its own for the posts and another for the probes, so probes never hold up
    a post. aiohttp rather than httpx: at 1,000 alerts/s httpx's connection pool took the
    bench 0.4 of the two cores the parts measured share."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def _probe(
    probe: aiohttp.ClientSession, url: str, correlation_id: str, mark: str, timings: Timings
) -> None:
    """Once the fold decided, ask the view for the issue as of the alert's own position on
    `alerts` (`after=`, read your own writes): one request that the API answers once the view
    has folded past it. Polling instead took a request every 5 to 40 ms per sampled alert,
    load on the API that grew with the very latency it measured."""
    await timings.waiting[correlation_id].wait()
    params = {"correlation_id": correlation_id, "after": mark, "wait_ms": str(PROBE_WAIT_MS)}
    async with probe.get(f"{url}/issues", params=params) as response:
        if response.status != 200:
            answer = await response.text()
            raise AssertionError(f"GET /issues answered {response.status}: {answer}")
        shown = (await response.json())["count"]
    if not shown:
        raise AssertionError(f"the view folded past {mark} without the issue {correlation_id}")
    timings.visible[correlation_id] = time.perf_counter()
