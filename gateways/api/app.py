"""The HTTP API's FastAPI application, built from its dependencies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI

from gateways.api.acts import acts_router
from gateways.api.alertmanager_api import alertmanager_router
from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.dependencies import ApiDependencies
from gateways.api.direct_routes import install_direct_routes
from gateways.api.errors import install_error_handlers
from gateways.api.history import history_router
from gateways.api.ingest import ingest_router
from gateways.api.metrics import ApiMetrics, install_request_metrics, metrics_router
from gateways.api.notifications import notifications_router
from gateways.api.pagerduty import pagerduty_router
from gateways.api.silences import silences_router
from gateways.api.slack_http import slack_router
from gateways.api.views import DIRECT_PATHS, views_router
from gateways.web.pages import install_web_page


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, built without touching Kafka or a database."""
    from domain.routing import RouteTable
    from gateways.alert_publisher import AlertPublisher
    from infra.database import create_database_engine
    from infra.kafka_clients import KafkaConnection
    from projections.lookup_store import LookupStore

    async def unused() -> tuple[bool, str]:
        return True, ""

    deps = ApiDependencies(
        publisher=AlertPublisher(KafkaConnection("127.0.0.1:9"), "alerts"),
        store=LookupStore(create_database_engine("sqlite://")),
        routes=RouteTable([]),
        clock=lambda: datetime.now(UTC),
        broker_check=unused,
        database_check=lambda: (True, ""),
        max_body_bytes=1,
    )
    return create_api(deps).openapi()


def request_body_schemas() -> dict[str, Any]:
    """JSON schemas of the ingest bodies, read by hand (not by FastAPI) to give precise errors."""
    from domain.alert import Alert
    from domain.alertmanager_webhook import AlertmanagerWebhook
    from gateways.notify.channels import ChannelSpec

    ref = "#/components/schemas/{model}"
    schemas: dict[str, Any] = {}
    for name, model in (
        ("Alert", Alert),
        ("AlertmanagerWebhook", AlertmanagerWebhook),
        ("ChannelSpec", ChannelSpec),
    ):
        schema = model.model_json_schema(by_alias=True, ref_template=ref)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def create_api(deps: ApiDependencies) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        following = []
        if deps.silences is not None:
            silences = deps.silences
            following.append(
                asyncio.create_task(silences.catalog.follow(silences.kafka, silences.topic))
            )
        if deps.issue_feed is not None:
            following.append(asyncio.create_task(deps.issue_feed.run()))
        yield
        for task in following:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await deps.publisher.close()

    app = FastAPI(
        title="alertfold",
        summary="Event-sourced Slack alert manager: ingest alerts, read and act on issues.",
        version="0.1.0",
        lifespan=lifespan,
    )
    generated = app.openapi

    def openapi_with_request_bodies() -> dict[str, Any]:
        document = generated()
        document.setdefault("components", {}).setdefault("schemas", {}).update(
            request_body_schemas()
        )
        return document

    app.openapi = openapi_with_request_bodies  # type: ignore[method-assign]
    metrics = ApiMetrics()
    install_error_handlers(app)
    app.include_router(ingest_router(deps, metrics))
    app.include_router(pagerduty_router(deps))
    views = views_router(deps)
    app.include_router(views)
    app.include_router(acts_router(deps))
    app.include_router(notifications_router(deps))
    app.include_router(silences_router(deps))
    app.include_router(slack_router(deps.slack))
    app.include_router(alertmanager_router(deps, metrics))
    view_key = [Depends(require(deps.view_keys))]
    app.include_router(history_router(deps), dependencies=view_key, responses=UNAUTHORIZED_RESPONSE)
    app.include_router(
        metrics_router(deps.store), dependencies=view_key, responses=UNAUTHORIZED_RESPONSE
    )
    install_direct_routes(app, views, DIRECT_PATHS)
    install_web_page(app, deps)
    install_request_metrics(app)  # outermost: it counts the direct routes too
    return app
