"""`POST /alert(s)` and `POST /prometheus-alert`: admit, publish, answer."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from domain.intake import Admission, admit_alertmanager, admit_alerts
from gateways.alert_publisher import BrokerUnavailable
from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.bodies import read_json
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.metrics import ApiMetrics
from gateways.api.read_marks import after_text
from gateways.api.webhook_seals import sealed_webhooks
from wire.alerts import encode_alert


def ingest_router(deps: ApiDependencies, metrics: ApiMetrics) -> APIRouter:
    router = APIRouter(tags=["ingest"], dependencies=[Depends(require(deps.ingest_keys))])

    async def publish(admission: Admission) -> Response:
        metrics.alerts["ignored"] += admission.ignored
        if not admission.accepted:
            return Response(status_code=204)
        accepted = sealed_webhooks(deps.webhook_sealer, admission.accepted)
        per_channel = Counter(a.slack_channel_id or "" for a in accepted)
        _take_tokens(deps, metrics, per_channel)
        received_at = deps.clock()
        try:
            positions = await deps.publisher.publish_placed(
                [(a.slack_channel_id or "", encode_alert(a, received_at)) for a in accepted]
            )
        except BrokerUnavailable:
            if deps.rate_limiter is not None:
                deps.rate_limiter.give_back(per_channel)  # nothing was accepted
            raise
        metrics.alerts["accepted"] += len(accepted)
        return JSONResponse(
            {
                "accepted": len(accepted),
                "ignored": admission.ignored,
                # Where each accepted alert went, in order, and the mark to read after them.
                "positions": [{"partition": p, "offset": o} for p, o in positions],
                "after": after_text(_highest(positions)),
            },
            status_code=202,
        )

    async def alerts(request: Request, channel: str | None = None) -> Response:
        body = await read_json(request, deps.max_body_bytes)
        admission = admit_alerts(body, routes=deps.routes, now=deps.clock(), path_channel=channel)
        return await publish(admission)

    async def prometheus(request: Request, channel: str | None = None) -> Response:
        body = await read_json(request, deps.max_body_bytes)
        admission = admit_alertmanager(
            body, routes=deps.routes, now=deps.clock(), path_channel=channel
        )
        return await publish(admission)

    alert_body = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Alert"},
                            {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                            {
                                "type": "object",
                                "required": ["alerts"],
                                "properties": {
                                    "alerts": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Alert"},
                                    }
                                },
                            },
                        ]
                    }
                }
            },
        }
    }
    alertmanager_body = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AlertmanagerWebhook"}}
            },
        }
    }
    responses: dict[int | str, dict[str, Any]] = {
        202: {
            "description": "stored on the alerts topic, acknowledged by the broker: "
            '`{"accepted", "ignored", "positions": [{"partition", "offset"}], "after"}`, '
            "where `after` (`partition:offset,…`) makes a view wait until it shows these alerts"
        },
        204: {"description": "nothing to store: no alerts, or every alert was ignored"},
        400: {
            "description": "invalid body (`problems` lists each field), or webhooks while no "
            "`ALERTFOLD_WEBHOOK_ENCRYPTION_KEY` is set"
        },
        **UNAUTHORIZED_RESPONSE,
        413: {"description": "body too large"},
        429: {
            "description": "a channel's rate limit is exhausted: nothing was accepted; retry "
            "after `Retry-After` seconds (also `RateLimit-Limit`, `RateLimit-Remaining`, "
            "`RateLimit-Reset`)"
        },
        503: {"description": "Kafka unreachable: nothing was accepted"},
    }
    for path in ("/alert", "/alerts", "/alert/{channel}", "/alerts/{channel}"):
        router.add_api_route(
            path, alerts, methods=["POST"], responses=responses, openapi_extra=alert_body
        )
    for path in ("/prometheus-alert", "/prometheus-alert/{channel}"):
        router.add_api_route(
            path, prometheus, methods=["POST"], responses=responses, openapi_extra=alertmanager_body
        )
    return router


def _highest(positions: list[tuple[int, int]]) -> dict[int, int]:
    highest: dict[int, int] = {}
    for partition, offset in positions:
        highest[partition] = max(highest.get(partition, offset), offset)
    return highest


def _take_tokens(deps: ApiDependencies, metrics: ApiMetrics, per_channel: Counter[str]) -> None:
    """Refuse the whole request, before anything is published, when a channel is over its rate."""
    if deps.rate_limiter is None:
        return
    refused = deps.rate_limiter.take(per_channel)
    if refused is not None:
        metrics.alerts["rate_limited"] += sum(per_channel.values())
        raise ApiError(429, refused.message, headers=refused.headers())
