"""View queries: closed-loop clients on `GET /issues?channel_id=` and `GET /issues/{id}`.

The view is filled the way it is in production (alerts folded by the worker, projected by
the projector); then only the API runs, and each client sends its next request as soon as
the last one is answered. The clients speak HTTP/1.1 over one kept-alive connection each,
with a few lines of asyncio instead of an HTTP library, so the load generator, which shares
the machine with the API, spends as little CPU as possible.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import httpx

from bench.alerts import alert_records, channel_id
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import produce, wait_for_total
from bench.profiling import Profiler
from bench.stats import milliseconds, percentile
from harness.product import Product
from harness.waiting import eventually

CLIENTS = 100
ISSUES_PER_CHANNEL = 10
Request = tuple[str, str]  # (kind, path)


def run(ctx: BenchContext) -> list[Figure]:
    issues = ctx.size(10_000, 500)
    channels = issues // ISSUES_PER_CHANNEL
    requests = ctx.size(10_000, 1_000)
    with ctx.product("views", ALERTFOLD_TICK_SECONDS="0") as product:
        ids = _fill(ctx, product, issues, channels)
        product.stop("worker")
        product.stop("projector")
        paths = [
            ("list", f"/issues?channel_id={channel_id(i % channels)}")
            if i % 2
            else ("get", f"/issues/{ids[i % len(ids)]}")
            for i in range(requests)
        ]
        ctx.say(f"{requests // 10:,} requests from 1 client, then {requests:,} from {CLIENTS}")
        single, _ = asyncio.run(_load(product.api_port, paths[: requests // 10], 1, None))
        output = ctx.profiles_dir / "views-api"
        profiler = Profiler.attach(product.pid("api"), output) if ctx.profile else None
        shown = ctx.progress("requests", requests)
        loaded, seconds = asyncio.run(_load(product.api_port, paths, CLIENTS, shown))
        profile = profiler.finish() if profiler else None
    setup = {
        "issues": issues,
        "channels": channels,
        "issues_per_channel": ISSUES_PER_CHANNEL,
        "requests": requests,
        "clients": CLIENTS,
        "requests_per_s": round(requests / seconds),
        **{
            f"one_client_{k}_p50_ms": round(milliseconds(percentile(v, 50)), 2)
            for k, v in single.items()
        },
        "api": "one uvicorn process, SQLite",
        **({"api_profile": profile} if profile else {}),
    }
    figures = []
    for kind, label in (("list", "/issues?channel_id="), ("get", "/issues/{id}")):
        for p in (50, 99):
            target = Target(5, False) if p == 99 else None
            figures.append(
                Figure(
                    "views",
                    f"{label} p{p}, {CLIENTS} clients",
                    milliseconds(percentile(loaded[kind], p)),
                    "ms",
                    target,
                    setup,
                )
            )
    return figures


def _fill(ctx: BenchContext, product: Product, issues: int, channels: int) -> list[str]:
    product.create_topics()
    ctx.say(f"filling the view with {issues:,} issues in {channels:,} channels")
    records = alert_records(issues, channels=channels, run="view")
    asyncio.run(produce(product.bootstrap, product.topic("alerts"), records))
    for part in ("worker", "projector", "api"):
        product.start(part)
    asyncio.run(
        wait_for_total(
            product.bootstrap,
            product.topic("issue-events"),
            product.partitions,
            issues,
            timeout=120 + issues / 100,
            alive=product.check_alive,
            on_progress=ctx.progress("fold", issues),
        )
    )

    def filled() -> bool:
        product.check_alive()
        page = httpx.get(f"{product.api_url}/issues", params={"limit": 1, "offset": issues - 1})
        return bool(page.json()["count"])

    eventually(filled, timeout=120, what=f"{issues:,} issues in the view")
    page = httpx.get(f"{product.api_url}/issues", params={"limit": 1000}).json()
    return [issue["id"] for issue in page["issues"]]


async def _load(
    port: int, paths: Sequence[Request], clients: int, progress: Callable[[int], None] | None
) -> tuple[dict[str, list[float]], float]:
    queue = list(reversed(paths))
    latencies: dict[str, list[float]] = {"list": [], "get": []}

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                kind, path = queue.pop()
                started = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                status = await _read_response(reader)
                latencies[kind].append(time.perf_counter() - started)
                if progress:
                    progress(len(paths) - len(queue))
                if status != 200:
                    raise AssertionError(f"GET {path} answered {status}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status code."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status
