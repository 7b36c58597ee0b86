"""The composition root: the one place that builds alertfold's parts from settings.

Each process (`worker`, `projector`, `presenter`, `api`) asks it for its part; tests pass their own
clock, routes or bootstrap address. Nothing here does I/O until a part is built and run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.routing import RouteTable
from infra.routes_file import load_routes
from infra.settings import Settings

if TYPE_CHECKING:
    import faust
    from fastapi import FastAPI

    from gateways.slack.dry_run import DryRunPresenter
    from projections.lookup_store import LookupStore
    from projections.runner import LookupProjector


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Alertfold:
    settings: Settings
    bootstrap_servers: str
    routes: RouteTable
    clock: Callable[[], datetime] = field(default=utc_now)

    def worker(self) -> faust.App:
        from agents.app import create_worker_app

        return create_worker_app(self.settings, self.bootstrap_servers, self.routes, self.clock)

    def projector(self) -> LookupProjector:
        from projections.runner import LookupProjector

        return LookupProjector(
            bootstrap_servers=self.bootstrap_servers,
            topic=self.settings.issue_events_topic,
            store=self.lookup_store(),
        )

    def presenter(self) -> DryRunPresenter:
        from gateways.slack.dry_run import DryRunPresenter

        return DryRunPresenter(
            self.bootstrap_servers,
            self.settings.issue_events_topic,
            group_id=f"{self.settings.app_id}-slack-presenter",
        )

    def lookup_store(self) -> LookupStore:
        from infra.database import create_database_engine
        from projections.lookup_store import LookupStore

        store = LookupStore(create_database_engine(self.settings.effective_database_url))
        store.create_schema()
        return store

    def api(self) -> FastAPI:
        from gateways.alert_publisher import AlertPublisher
        from gateways.api.app import create_api
        from gateways.api.dependencies import ApiDependencies
        from infra.database import database_reachable
        from infra.kafka_admin import broker_reachable

        store = self.lookup_store()
        servers = self.bootstrap_servers
        return create_api(
            ApiDependencies(
                publisher=AlertPublisher(servers, self.settings.alerts_topic),
                store=store,
                routes=self.routes,
                clock=self.clock,
                broker_check=lambda: broker_reachable(servers),
                database_check=lambda: database_reachable(store.engine),
                max_body_bytes=self.settings.max_body_bytes,
            )
        )


def create_app(
    settings: Settings,
    *,
    bootstrap_servers: str | None = None,
    routes: RouteTable | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Alertfold:
    """Wire alertfold from settings; every dependency may be replaced by the caller."""
    servers = (
        bootstrap_servers or settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.kafka_port}"
    )
    if routes is None:
        routes = load_routes(settings.routes_file) if settings.routes_file else RouteTable([])
    return Alertfold(settings=settings, bootstrap_servers=servers, routes=routes, clock=clock)
