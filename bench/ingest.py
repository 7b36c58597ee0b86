"""HTTP ingest: concurrent clients post `/alerts` batches; a 202 means the broker acked them.

Only the API runs: a 202 is the API's promise that the alerts are on `alerts` (acks=all), so
nothing downstream adds to the figure. Bodies are encoded before the clock starts, so the
clients spend their CPU on HTTP only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx

from bench.alerts import alert_json
from bench.context import BenchContext
from bench.figures import Figure, Target
from bench.kafka_io import end_offsets

CHANNELS = 64
BATCH = 100
CLIENTS = 16


def run(ctx: BenchContext) -> list[Figure]:
    count = ctx.size(100_000, 2_000)
    bodies = [
        json.dumps(
            [alert_json(i, channels=CHANNELS, alerts_per_issue=10) for i in range(s, s + BATCH)]
        ).encode()
        for s in range(0, count, BATCH)
    ]
    with ctx.product("ingest") as product:
        product.start("api")
        ctx.say(f"posting {count:,} alerts in batches of {BATCH} from {CLIENTS} clients")
        seconds = asyncio.run(_post_all(product.api_url, bodies, ctx.progress("ingest", count)))
        stored = sum(
            asyncio.run(
                end_offsets(product.kafka, product.topic("alerts"), ctx.partitions)
            ).values()
        )
    if stored != count:
        raise AssertionError(f"{count:,} alerts accepted but {stored:,} on the alerts topic")
    setup = {
        "alerts": count,
        "batch": BATCH,
        "clients": CLIENTS,
        "partitions": ctx.partitions,
        "api": "one uvicorn process",
        "client": "httpx.AsyncClient, one process",
    }
    return [
        Figure(
            "ingest",
            "POST /alerts, broker-acked",
            count / seconds,
            "alerts/s",
            Target(5_000, True),
            setup,
        )
    ]


async def _post_all(url: str, bodies: list[bytes], progress: Callable[[int], None]) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    done = 0
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"content-type": "application/json"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal done
        while not queue.empty():
            body = queue.get_nowait()
            response = await http.post(f"{url}/alerts", content=body, headers=headers)
            if response.status_code != 202:
                raise AssertionError(
                    f"POST /alerts answered {response.status_code}: {response.text}"
                )
            done += BATCH
            progress(done)

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
        return time.perf_counter() - started
