"""`POST /alert(s)` and `POST /prometheus-alert`: admit, publish, answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from domain.intake import Admission, admit_alertmanager, admit_alerts
from gateways.api.bodies import read_json
from gateways.api.dependencies import ApiDependencies
from gateways.api.metrics import ApiMetrics
from infra.alert_wire import encode_alert


def ingest_router(deps: ApiDependencies, metrics: ApiMetrics) -> APIRouter:
    router = APIRouter(tags=["ingest"])

    async def publish(admission: Admission) -> Response:
        metrics.alerts["ignored"] += admission.ignored
        if not admission.accepted:
            return Response(status_code=204)
        received_at = deps.clock()
        await deps.publisher.publish(
            [(a.slack_channel_id or "", encode_alert(a, received_at)) for a in admission.accepted]
        )
        metrics.alerts["accepted"] += len(admission.accepted)
        return JSONResponse(
            {"accepted": len(admission.accepted), "ignored": admission.ignored}, status_code=202
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
        202: {"description": "stored on the alerts topic, acknowledged by the broker"},
        204: {"description": "nothing to store: no alerts, or every alert was ignored"},
        400: {"description": "invalid body; `problems` lists each field"},
        413: {"description": "body too large"},
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
