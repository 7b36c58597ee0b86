"""View queries: 100 closed-loop clients on `GET /issues?channel_id=`, `GET /issues/{id}` and
`GET /issues/counts?channel_id=`, one endpoint at a time.

The view is filled the way it is in production (alerts folded by the worker, projected by
the projector); then only the API runs. The load comes from `wrk` when it is installed
(Debian's package; written in C, so the load generator takes little of the two cores it
shares with the API), else from a few lines of asyncio speaking HTTP/1.1 over one
kept-alive connection per client. `ALERTFOLD_BENCH_DATABASE_URL` runs the view on another
database than the default SQLite (an empty PostgreSQL or MySQL database), and
`ALERTFOLD_BENCH_API_WORKERS` sets the API's processes (default 2, one per core).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence

import httpx

from bench.alerts import alert_records, channel_id
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import produce, wait_for_total
from bench.profiling import Profiler
from bench.replay import chosen_database, database_kind
from bench.stats import milliseconds, percentile
from harness.product import Product
from harness.waiting import eventually

CLIENTS = 100
ISSUES_PER_CHANNEL = 10
KINDS = (
    ("list", "/issues?channel_id="),
    ("get", "/issues/{id}"),
    ("counts", "/issues/counts?channel_id="),
)
# Cycles through the paths of a file, one request after another on each connection.
_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("ALERTFOLD_BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def run(ctx: BenchContext) -> list[Figure]:
    issues = ctx.size(10_000, 500)
    channels = issues // ISSUES_PER_CHANNEL
    seconds = ctx.size(10, 2)
    database = chosen_database()
    workers = os.environ.get("ALERTFOLD_BENCH_API_WORKERS", "2")
    env = {"ALERTFOLD_TICK_SECONDS": "0", "ALERTFOLD_API_WORKERS": workers}
    if database:
        env["DATABASE_URL"] = database
    wrk = shutil.which("wrk")
    with ctx.product("views", **env) as product:
        ids = _fill(ctx, product, issues, channels)
        product.stop("worker")
        product.stop("projector")
        paths = {
            "list": [f"/issues?channel_id={channel_id(i % channels)}" for i in range(1000)],
            "get": [f"/issues/{ids[i * 7 % len(ids)]}" for i in range(1000)],
            "counts": [
                f"/issues/counts?channel_id={channel_id(i % channels)}" for i in range(1000)
            ],
        }
        single, _ = asyncio.run(_load(product.api_port, paths["list"][:300], 1, None))
        output = ctx.profiles_dir / "views-api"
        profiler = Profiler.attach(product.pid("api"), output) if ctx.profile else None
        measured = {}
        for kind, _label in KINDS:
            ctx.say(f"{kind}: {CLIENTS} clients for {seconds} s ({'wrk' if wrk else 'asyncio'})")
            measured[kind] = (
                _wrk(wrk, product, paths[kind], seconds)
                if wrk
                else _python_load(product.api_port, paths[kind], seconds)
            )
        profile = profiler.finish() if profiler else None
    setup = {
        "issues": issues,
        "channels": channels,
        "issues_per_channel": ISSUES_PER_CHANNEL,
        "clients": CLIENTS,
        "seconds_per_endpoint": seconds,
        "load": "wrk -t1 -c100" if wrk else "asyncio clients in one process",
        "one_client_list_p50_ms": round(milliseconds(percentile(single["list"], 50)), 2),
        "api": f"{workers} uvicorn process(es)",
        "database": database_kind(database),
        **({"api_profile": profile} if profile else {}),
    }
    figures = []
    for kind, label in KINDS:
        rate, p50, p99 = measured[kind]
        figures += [
            Figure(
                "views",
                f"{label} requests/s, {CLIENTS} clients",
                rate,
                "req/s",
                Target(5_000, True),
                setup,
            ),
            Figure("views", f"{label} p50, {CLIENTS} clients", p50, "ms", None, setup),
            Figure("views", f"{label} p99, {CLIENTS} clients", p99, "ms", Target(50, False), setup),
        ]
    return figures


def _fill(ctx: BenchContext, product: Product, issues: int, channels: int) -> list[str]:
    product.create_topics()
    ctx.say(f"filling the view with {issues:,} issues in {channels:,} channels")
    records = alert_records(issues, channels=channels, run="view")
    asyncio.run(produce(product.kafka, product.topic("alerts"), records))
    for part in ("worker", "projector", "api"):
        product.start(part)
    asyncio.run(
        wait_for_total(
            product.kafka,
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
        counts = httpx.get(f"{product.api_url}/issues/counts").json()
        return bool(counts["total"] >= issues)

    eventually(filled, timeout=120, what=f"{issues:,} issues in the view")
    page = httpx.get(f"{product.api_url}/issues", params={"limit": 1000}).json()
    return [issue["id"] for issue in page["issues"]]


def _wrk(
    wrk: str, product: Product, paths: Sequence[str], seconds: int
) -> tuple[float, float, float]:
    """requests/s, p50 and p99 in ms, as wrk measured them."""
    script = product.workdir / "paths.lua"
    script.write_text(_WRK_SCRIPT)
    listed = product.workdir / "paths.txt"
    listed.write_text("\n".join(paths) + "\n")
    done = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{CLIENTS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            product.api_url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ALERTFOLD_BENCH_PATHS": str(listed)},
        timeout=seconds + 60,
        check=True,
    )
    out = done.stdout
    if "Non-2xx" in out:
        raise AssertionError(f"some requests were refused:\n{out}")
    rate = float(_found(r"Requests/sec:\s+([\d.]+)", out))
    return rate, _ms(_found(r"\s50%\s+(\S+)", out)), _ms(_found(r"\s99%\s+(\S+)", out))


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise AssertionError(f"wrk printed no {pattern!r}:\n{text}")
    return match[1]


def _ms(text: str) -> float:
    """wrk's `812.00us`, `3.21ms`, `1.02s` in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _python_load(port: int, paths: Sequence[str], seconds: int) -> tuple[float, float, float]:
    count = max(len(paths), 500 * seconds)
    cycled = [paths[i % len(paths)] for i in range(count)]
    latencies, elapsed = asyncio.run(_load(port, cycled, CLIENTS, None))
    samples = latencies["list"]
    return (
        len(samples) / elapsed,
        milliseconds(percentile(samples, 50)),
        milliseconds(percentile(samples, 99)),
    )


async def _load(
    port: int, paths: Sequence[str], clients: int, progress: Callable[[int], None] | None
) -> tuple[dict[str, list[float]], float]:
    queue = list(reversed(paths))
    latencies: dict[str, list[float]] = {"list": []}

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                path = queue.pop()
                started = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                status = await _read_response(reader)
                latencies["list"].append(time.perf_counter() - started)
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
