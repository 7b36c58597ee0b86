"""The API's metrics, and `GET /metrics`: prometheus-client's exposition of the process.

Requests are counted under their route template (`/issues/{issue_id}`), so ids in paths
never become labels. The issue gauges are read from the lookup view at each scrape (of
this route or of the part's metrics endpoint), so every API replica reports the same
numbers for them.
"""

from __future__ import annotations

import functools
import logging
import math
import time

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.lookup_store import LookupStore

REQUESTS = Counter(
    "alertfold_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "alertfold_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    "alertfold_ingest_alerts_total",
    "Alerts in ingest requests, by outcome: accepted, ignored, rate_limited, dead_lettered.",
    ["outcome"],
)
TRUNCATED = Counter(
    "alertfold_alertmanager_truncated_alerts_total",
    "Alerts Alertmanager left out of its notifications (truncatedAlerts).",
)
log = logging.getLogger(__name__)

ISSUES = Gauge("alertfold_issues", "Issues in the lookup view, by status.", ["status"])
ISSUE_STATUSES = ("open", "resolved")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INGEST_OUTCOMES = ("accepted", "ignored", "rate_limited", "dead_lettered")


class ApiMetrics:
    """What the ingest routes count; the series exist from the start, at zero."""

    def __init__(self) -> None:
        for outcome in INGEST_OUTCOMES:
            INGESTED.labels(outcome)

    def alerts(self, outcome: str, count: int = 1) -> None:
        if count:
            INGESTED.labels(outcome).inc(count)

    def truncated(self, count: int) -> None:
        TRUNCATED.inc(count)


def install_request_metrics(app: FastAPI) -> None:
    """Count and time every answer under its route template.

    A plain ASGI middleware: Starlette's `@app.middleware("http")` would run every request
    through an extra task and stream, which costs the views more than their query does.
    """
    app.add_middleware(RequestMetrics)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            method, route = _method_of(scope), _route_of(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def _method_of(scope: Scope) -> str:
    """HTTP's methods by name; any other token a client sends, as one label value."""
    method = str(scope["method"])
    return method if method in _METHODS else "other"


def _route_of(scope: Scope) -> str:
    """The matched route's template; the router records it in the shared ASGI scope."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def metrics_router(store: LookupStore) -> APIRouter:
    router = APIRouter(tags=["health"])
    for status in ISSUE_STATUSES:
        ISSUES.labels(status).set_function(functools.partial(_issues, store, status))

    @router.get("/metrics", response_class=PlainTextResponse)
    def exposition() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def _issues(store: LookupStore, status: str) -> float:
    """The view's count; NaN while the database does not answer (the scrape still does)."""
    try:
        return float(store.count_by_status().get(status, 0))
    except Exception as error:
        log.warning("metrics: cannot count the issues in the view (%s)", error)
        return math.nan
