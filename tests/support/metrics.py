"""Metrics endpoints in tests: a base port whose parts' ports are free, and reading a scrape."""

from __future__ import annotations

import random

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.telemetry import METRICS_OFFSETS
from infra.local_kafka.ports import port_in_use

REPLICAS_CHECKED = 3
# (series name, its labels) → value
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_metrics_base() -> int:
    """An ALERTFOLD_METRICS_PORT whose every part's port (and its next replicas') is free."""
    for _ in range(100):
        base = random.randrange(20_000, 60_000)
        ports = [base + o + r for o in METRICS_OFFSETS.values() for r in range(REPLICAS_CHECKED)]
        if not any(port_in_use(port) for port in ports):
            return base
    raise RuntimeError("no free block of ports for the metrics endpoints")


def scrape(url: str) -> Samples:
    """(series name, labels) → value, from an endpoint's `/metrics`."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the series named so whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def has(samples: Samples, name: str, **labels: str) -> bool:
    wanted = set(labels.items())
    return any(n == name and wanted <= have for (n, have) in samples)
