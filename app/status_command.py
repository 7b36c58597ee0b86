"""`alertfold status`: every part's health, lag and last problem at a glance, as a table.

It asks each part's endpoint (`/health` and `/metrics`, see `app.telemetry`) the way
Prometheus would: without URLs, the endpoints `alertfold up` runs with these settings (its
own, each part process, the API's); with URLs, those (e.g. the containers of a compose
file). A part that does not answer is shown down. Exit code 0 when every part is ready, 1
otherwise, so a script can wait on it.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.supervisor import numbered, planned_parts
from app.telemetry import metrics_port
from infra.settings import Settings, load_settings

ASK_TIMEOUT = 2.0
PIPED_WIDTH = 220


@dataclass(frozen=True)
class Endpoint:
    url: str  # http://host:port, without a path
    name: str = ""  # empty: the part it reports


@dataclass(frozen=True)
class PartStatus:
    endpoint: Endpoint
    answered: bool
    ready: bool = False
    part: str = ""
    lag: float | None = None  # records, all its consumers together; None: it consumes none
    uptime_seconds: float | None = None
    problem: dict[str, str] | None = None
    error: str = ""


def add_status_parser(commands: Any) -> None:
    status = commands.add_parser(
        "status",
        help="each part's health, lag and last problem, from its metrics endpoint",
    )
    status.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        help="endpoints to ask (http://host:port); default: those `alertfold up` runs",
    )
    status.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    settings = load_settings()
    endpoints = [Endpoint(url.rstrip("/")) for url in args.urls] or up_endpoints(settings)
    if not endpoints:
        print(
            "alertfold: the parts serve no metrics (ALERTFOLD_METRICS_PORT=0); "
            "name their endpoints: alertfold status URL…",
            file=sys.stderr,
        )
        return 2
    statuses = asyncio.run(ask_all(endpoints))
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH  # a script reading it wants whole rows, not wrapped ones
    console.print(status_table(statuses))
    return 0 if all(s.answered and s.ready for s in statuses) else 1


def up_endpoints(settings: Settings) -> list[Endpoint]:
    """`alertfold up` itself, each process it runs, and the API: what these settings start."""
    host = settings.metrics_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    planned = [("up", "up", 1), *numbered(planned_parts(settings))]
    endpoints = []
    for name, part, replica in planned:
        port = metrics_port(settings, part, replica)
        if port is not None:
            endpoints.append(Endpoint(f"http://{host}:{port}", name))
    return endpoints


async def ask_all(endpoints: list[Endpoint]) -> list[PartStatus]:
    async with httpx.AsyncClient(timeout=ASK_TIMEOUT) as client:
        return list(await asyncio.gather(*(ask(client, e) for e in endpoints)))


async def ask(client: httpx.AsyncClient, endpoint: Endpoint) -> PartStatus:
    try:
        health = await client.get(f"{endpoint.url}/health")
        metrics = await client.get(f"{endpoint.url}/metrics")
        report = health.json()
    except (httpx.HTTPError, ValueError) as error:
        return PartStatus(endpoint, answered=False, error=_first_line(error))
    return PartStatus(
        endpoint,
        answered=True,
        ready=bool(report.get("ready")),
        part=str(report.get("part", "")),
        lag=total_lag(metrics.text) if metrics.status_code == 200 else None,
        uptime_seconds=report.get("uptime_seconds"),
        problem=report.get("last_problem"),
    )


def total_lag(exposition: str) -> float | None:
    """The sum of `alertfold_consumer_lag_records`; None when the part reports no consumer."""
    samples = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "alertfold_consumer_lag_records"
        for sample in family.samples
        if not math.isnan(sample.value)
    ]
    return sum(samples) if samples else None


def status_table(statuses: list[PartStatus]) -> Table:
    table = Table(title="alertfold status", title_justify="left")
    for column in ("part", "state", "lag", "up for", "last problem", "endpoint"):
        table.add_column(column, no_wrap=column not in ("last problem",))
    for status in statuses:
        table.add_row(
            status.endpoint.name or status.part or "?",
            _state(status),
            "-" if status.lag is None else f"{status.lag:,.0f}",
            "-" if status.uptime_seconds is None else _duration(status.uptime_seconds),
            _problem(status),
            status.endpoint.url,
        )
    return table


def _state(status: PartStatus) -> str:
    if not status.answered:
        return "[red]down[/red]"
    return "[green]ready[/green]" if status.ready else "[yellow]not ready[/yellow]"


def _problem(status: PartStatus) -> str:
    if not status.answered:
        return escape(status.error)
    problem = status.problem
    if not problem:
        return ""
    colour = "red" if problem.get("level") in ("error", "critical") else "yellow"
    when = str(problem.get("at", ""))[11:19]  # the time of day, UTC
    message = escape(str(problem.get("message", "")))
    return f"[{colour}]{when} {problem.get('level')}[/{colour}] {message}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
