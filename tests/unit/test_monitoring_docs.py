"""The shipped Grafana dashboard and Prometheus rules speak only of metrics alertfold exports,
and the dashboard shows every one of them."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("infra", "agents", "projections", "gateways", "app")
DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
RULES = REPO / "docs" / "prometheus-rules.yml"
# Series a PromQL expression may name that no registry holds: Prometheus' own per scrape.
PROMETHEUS_SERIES = {"up"}
# Label names never start so, and `up` is always filtered by job.
METRIC_NAME = re.compile(r"\b(?:alertfold|process|python)_\w+|\bup(?=\{)")


def sample_names(family: Metric) -> set[str]:
    """The series names a family is scraped as (`_total` on counters, `_bucket` …)."""
    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "info": ("_info",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
    }[family.type]
    return {family.name + suffix for suffix in suffixes}


def exported() -> set[str]:
    """Every series name of the registry once every part's metrics module is imported."""
    for package in PRODUCT:
        for path in (REPO / package).rglob("metrics.py"):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            importlib.import_module(module)
    return {name for family in REGISTRY.collect() for name in sample_names(family)}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        query: Any = variable.get("query")
        if isinstance(query, dict):
            expressions.append(query["query"])
    return expressions


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def named(expressions: list[str]) -> set[str]:
    return {match for expr in expressions for match in METRIC_NAME.findall(expr)}


def test_every_metric_the_dashboard_names_is_exported() -> None:
    names = named(dashboard_expressions())
    assert "alertfold_consumer_lag_records" in names
    assert names - PROMETHEUS_SERIES - exported() == set()


def test_every_metric_the_rules_name_is_exported() -> None:
    names = named(rule_expressions())
    assert {"up", "alertfold_notification_dead_letters_total"} <= names
    assert names - PROMETHEUS_SERIES - exported() == set()


def test_the_dashboard_shows_every_alertfold_metric() -> None:
    exported()
    shown = named(dashboard_expressions())
    missing = sorted(
        family.name
        for family in REGISTRY.collect()
        if family.name.startswith("alertfold_") and not sample_names(family) & shown
    )
    assert missing == []


def test_every_panel_has_a_title_and_asks_the_chosen_data_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        assert panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
