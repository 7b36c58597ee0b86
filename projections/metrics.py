"""The readers of `issue-events` (lookup view, audit store, notifier): their metrics.

`reader` is the sink's name (`lookup`, `audit`, `notifier`), so one dashboard row compares
them; README "Metrics" lists each metric.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

APPLIED = Counter(
    "alertfold_reader_events_applied_total",
    "Issue events a reader's sink committed (a re-read duplicate counts again).",
    ["reader"],
)
SKIPPED = Counter(
    "alertfold_reader_events_skipped_total",
    "Undecodable records on issue-events a reader stepped over.",
    ["reader"],
)
APPLY_FAILURES = Counter(
    "alertfold_reader_apply_failures_total",
    "Attempts to commit a batch that failed (each retried).",
    ["reader"],
)
APPLY_SECONDS = Histogram(
    "alertfold_reader_apply_duration_seconds",
    "Time for a reader's sink to commit one batch (its rows and its positions).",
    ["reader"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
