"""`GET /metrics`: Prometheus text exposition of what the API did and what the view holds.

Counters live in this process; the issue gauges are read from the lookup view on each
scrape, so every API replica reports the same numbers for them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

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
    """Count every answer under its route template, so ids in paths don't explode labels."""

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        metrics.observe(
            request.method,
            _route_of(request),
            response.status_code,
            time.perf_counter() - started,
        )
        return response


def _route_of(request: Request) -> str:
    """The matched route's template; the router records it in the shared ASGI scope."""
    route = request.scope.get("route")
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
