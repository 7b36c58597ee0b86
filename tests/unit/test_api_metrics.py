"""The API's metrics: answers by route template, alerts by outcome, issue gauges, served by
prometheus-client in its text format."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gateways.api.metrics import ApiMetrics, install_request_metrics, metrics_router


class CountingStore:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def count_by_status(self) -> dict[str, int]:
        return self.counts


def api(counts: dict[str, int] | None = None) -> httpx.AsyncClient:
    app = FastAPI()
    install_request_metrics(app)

    @app.get("/issues/{issue_id}")
    def issue(issue_id: str) -> dict[str, str]:
        raise HTTPException(404, f"no issue {issue_id}")

    app.include_router(metrics_router(CountingStore(counts or {})))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_requests_are_counted_and_timed_by_method_route_template_and_status() -> None:
    labels = {"method": "GET", "route": "/issues/{issue_id}"}
    before = sample("alertfold_http_requests_total", **labels, status="404")
    timed = sample("alertfold_http_request_duration_seconds_count", **labels)
    client = api()

    await client.get("/issues/i-1")
    await client.get("/issues/i-2")

    assert sample("alertfold_http_requests_total", **labels, status="404") == before + 2
    assert sample("alertfold_http_request_duration_seconds_count", **labels) == timed + 2
    assert sample("alertfold_http_requests_total", method="GET", route="/issues/i-1") == 0


async def test_a_method_http_does_not_name_is_counted_as_other() -> None:
    before = sample(
        "alertfold_http_requests_total", method="other", route="unmatched", status="404"
    )
    await api().request("BREW", "/coffee")
    after = sample("alertfold_http_requests_total", method="other", route="unmatched", status="404")
    assert after == before + 1


async def test_issue_gauges_show_zero_for_statuses_without_issues() -> None:
    text = (await api({"open": 3}).get("/metrics")).text
    assert 'alertfold_issues{status="open"} 3.0' in text
    assert 'alertfold_issues{status="resolved"} 0.0' in text


async def test_alerts_are_counted_by_outcome_and_every_outcome_is_shown_from_the_start() -> None:
    metrics = ApiMetrics()
    before = sample("alertfold_ingest_alerts_total", outcome="accepted")
    metrics.alerts("accepted", 5)
    metrics.alerts("ignored", 0)
    assert sample("alertfold_ingest_alerts_total", outcome="accepted") == before + 5
    families = text_string_to_metric_families((await api().get("/metrics")).text)
    ingest = next(f for f in families if f.name == "alertfold_ingest_alerts")
    outcomes = {s.labels["outcome"] for s in ingest.samples}
    assert outcomes >= {"accepted", "ignored", "rate_limited", "dead_lettered"}


async def test_the_exposition_carries_the_process_metrics_of_prometheus_client() -> None:
    text = (await api().get("/metrics")).text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "alertfold_issues"} <= names
