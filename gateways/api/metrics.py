"""`GET /metrics`: Prometheus text exposition of what the API did and what the view holds.

Counters live in this process; the issue gauges are read from the lookup view on each
scrape, so every API replica reports the same numbers for them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.lookup_store import LookupStore


@dataclass
class ApiMetrics:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    alerts: Counter[str] = field(default_factory=Counter)
    # Alerts Alertmanager reported left out of its notifications (`truncatedAlerts`).
    truncated_alerts: int = 0

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        self.requests[(method, route, status)] += 1
        self.seconds[(method, route)] = self.seconds.get((method, route), 0.0) + elapsed

    def exposition(self, issues_by_status: dict[str, int]) -> str:
        lines = [
            "# HELP alertfold_http_requests_total HTTP requests by route and status.",
            "# TYPE alertfold_http_requests_total counter",
            *(
                f'alertfold_http_requests_total{{method="{m}",route="{r}",status="{s}"}} {n}'
                for (m, r, s), n in sorted(self.requests.items())
            ),
            "# HELP alertfold_http_request_seconds_total Time spent answering, by route.",
            "# TYPE alertfold_http_request_seconds_total counter",
            *(
                f'alertfold_http_request_seconds_total{{method="{m}",route="{r}"}} {t:.6f}'
                for (m, r), t in sorted(self.seconds.items())
            ),
            "# HELP alertfold_ingest_alerts_total Alerts in ingest requests, by outcome.",
            "# TYPE alertfold_ingest_alerts_total counter",
            *(
                f'alertfold_ingest_alerts_total{{outcome="{o}"}} {self.alerts[o]}'
                for o in ("accepted", "ignored", "rate_limited", "dead_lettered")
            ),
            "# HELP alertfold_alertmanager_truncated_alerts_total Alerts Alertmanager left out "
            "of its notifications (truncatedAlerts).",
            "# TYPE alertfold_alertmanager_truncated_alerts_total counter",
            f"alertfold_alertmanager_truncated_alerts_total {self.truncated_alerts}",
            "# HELP alertfold_issues Issues in the lookup view, by status.",
            "# TYPE alertfold_issues gauge",
            *(
                f'alertfold_issues{{status="{status}"}} {issues_by_status.get(status, 0)}'
                for status in ("open", "resolved")
            ),
        ]
        return "\n".join(lines) + "\n"


def install_request_metrics(app: FastAPI, metrics: ApiMetrics) -> None:
    """Count every answer under its route template, so ids in paths don't explode labels.

    A plain ASGI middleware: Starlette's `@app.middleware("http")` would run every request
    through an extra task and stream, which costs the views more than their query does.
    """
    app.add_middleware(RequestMetrics, metrics=metrics)


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(
                scope["method"], _route_of(scope), status, time.perf_counter() - started
            )


def _route_of(scope: Scope) -> str:
    """The matched route's template; the router records it in the shared ASGI scope."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def metrics_router(metrics: ApiMetrics, store: LookupStore) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", response_class=PlainTextResponse)
    def exposition() -> Response:
        return PlainTextResponse(
            metrics.exposition(store.count_by_status()),
            media_type="text/plain; version=0.0.4",
        )

    return router
