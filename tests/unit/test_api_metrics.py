"""The metrics exposition: counters by route template, alerts by outcome, issue gauges."""

from __future__ import annotations

from gateways.api.metrics import ApiMetrics


def test_requests_are_counted_by_method_route_and_status() -> None:
    metrics = ApiMetrics()
    metrics.observe("POST", "/alerts", 202, 0.004)
    metrics.observe("POST", "/alerts", 202, 0.006)
    metrics.observe("GET", "/issues/{issue_id}", 404, 0.001)
    text = metrics.exposition({})
    assert 'alertfold_http_requests_total{method="POST",route="/alerts",status="202"} 2' in text
    assert (
        'alertfold_http_requests_total{method="GET",route="/issues/{issue_id}",status="404"} 1'
        in text
    )
    assert 'alertfold_http_request_seconds_total{method="POST",route="/alerts"} 0.010000' in text


def test_issue_gauges_show_zero_for_statuses_without_issues() -> None:
    text = ApiMetrics().exposition({"open": 3})
    assert 'alertfold_issues{status="open"} 3' in text
    assert 'alertfold_issues{status="resolved"} 0' in text


def test_every_sample_has_its_help_and_type() -> None:
    metrics = ApiMetrics()
    metrics.alerts["accepted"] += 5
    lines = metrics.exposition({}).splitlines()
    names = {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")}
    for name in names:
        assert f"# TYPE {name} counter" in lines or f"# TYPE {name} gauge" in lines
    assert 'alertfold_ingest_alerts_total{outcome="accepted"} 5' in lines
