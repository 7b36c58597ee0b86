"""Where each part's metrics endpoint listens, and starting it in a part's process.

One base port (`ALERTFOLD_METRICS_PORT`, 9400) and a fixed offset per part, so every part
of an installation fits on one host without clashing and Prometheus' targets follow from the
settings alone: `alertfold up` itself at the base, each part 20 ports above the one before.
`alertfold up` gives the n-th process of a part the base plus n - 1, so its replicas take the
ports after the first one's (at most 16 of a part fit in its 20).
"""

from __future__ import annotations

from collections.abc import Callable

from infra.metrics import announce_part
from infra.metrics_server import MetricsServer, PartHealth, serve_part_metrics
from infra.settings import Settings

METRICS_OFFSETS = {
    "up": 0,
    "worker": 20,
    "projector": 40,
    "auditor": 60,
    "presenter": 80,
    "notifier": 100,
    "interactions": 120,
    "api": 140,
}


def metrics_port(settings: Settings, part: str, replica: int = 1) -> int | None:
    """The port of the part's endpoint (None: metrics are off), for its n-th replica."""
    if not settings.metrics_port:
        return None
    return settings.metrics_port + METRICS_OFFSETS[part] + replica - 1


def replica_base_port(settings: Settings, replica: int) -> int:
    """The ALERTFOLD_METRICS_PORT `alertfold up` gives the n-th process of a part."""
    return settings.metrics_port + replica - 1 if settings.metrics_port else 0


def serve_metrics(
    settings: Settings, part: str, ready: Callable[[], bool] = lambda: True
) -> MetricsServer | None:
    """Name the process's part in its metrics, and serve its `/metrics` and `/health`
    endpoint unless metrics are off."""
    health = PartHealth(part, ready)
    announce_part(part, health.ready)
    port = metrics_port(settings, part)
    if port is None:
        return None
    return serve_part_metrics(settings.metrics_host, port, health)
