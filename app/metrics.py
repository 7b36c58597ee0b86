"""`alertfold up`'s own metrics (README "Metrics"): its children, by name (`worker 2`,
`local Kafka`), as many as the settings ask for."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CHILD_UP = Gauge(
    "alertfold_supervisor_child_up",
    "1 while a child process of `alertfold up` runs, 0 while it waits to be started again.",
    ["child"],
)
RESTARTS = Counter(
    "alertfold_supervisor_restarts_total",
    "Times `alertfold up` started a child again after it exited.",
    ["child"],
)
