"""`POST /alert(s)` and `POST /prometheus-alert` (or `/alertmanager/webhook`): admit, store,
answer. With a bot token, channel names become channel ids first (`channel_names`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from domain.intake import admit_alertmanager, admit_alerts
from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.bodies import read_json
from gateways.api.channel_names import alert_channels, alertmanager_channels, with_channel_ids
from gateways.api.dependencies import ApiDependencies
from gateways.api.metrics import ApiMetrics
from gateways.api.publishing import request_name, store_admission

Ingest = Callable[[Request, str | None], Awaitable[Response]]
Endpoint = Callable[..., Awaitable[Response]]
ALERTS_CHANNEL = (
    "Slack channel of the alerts that name none (`slackChannelId`): a channel id, or a "
    "channel name when the API has a bot token"
)
ALERTMANAGER_CHANNEL = (
    "Slack channel of the alerts whose annotations and labels name none: a channel id, or a "
    "channel name when the API has a bot token"
)


def ingest_router(deps: ApiDependencies, metrics: ApiMetrics) -> APIRouter:
    router = APIRouter(tags=["ingest"], dependencies=[Depends(require(deps.ingest_keys))])

    async def alerts(request: Request, channel: str | None = None) -> Response:
        body = await read_json(request, deps.max_body_bytes)
        if deps.channel_directory is not None:
            channel = await with_channel_ids(deps.channel_directory, body, channel, alert_channels)
        admission = admit_alerts(body, routes=deps.routes, now=deps.clock(), path_channel=channel)
        stored = await store_admission(deps, metrics, admission, request=request_name(request))
        if stored.nothing:
            return Response(status_code=204)
        answer = {"accepted": stored.accepted, "ignored": stored.ignored, **stored.placed_view()}
        return JSONResponse(answer, 202)

    async def prometheus(request: Request, channel: str | None = None) -> Response:
        """Alertmanager's alerts are taken one by one: an invalid one goes to `alerts.dlq`
        and is named in the answer, which is still a success, or Alertmanager would retry
        the whole notification, which can never pass, for as long as its alerts live."""
        body = await read_json(request, deps.max_body_bytes)
        if deps.channel_directory is not None:
            channel = await with_channel_ids(
                deps.channel_directory, body, channel, alertmanager_channels
            )
        admission = admit_alertmanager(
            body, routes=deps.routes, now=deps.clock(), path_channel=channel
        )
        stored = await store_admission(deps, metrics, admission, request=request_name(request))
        if stored.nothing:
            return Response(status_code=204)
        answer = {
            "accepted": stored.accepted,
            "ignored": stored.ignored,
            "rejected": stored.set_aside_view(),
            **stored.placed_view(),
        }
        return JSONResponse(answer, status_code=202)

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
            "description": "invalid body (`problems` lists each field), webhooks while no "
            "`ALERTFOLD_WEBHOOK_ENCRYPTION_KEY` is set, or a channel name that is none of "
            "the bot's channels"
        },
        **UNAUTHORIZED_RESPONSE,
        413: {"description": "body too large"},
        429: {
            "description": "a channel's rate limit is exhausted: nothing was accepted; retry "
            "after `Retry-After` seconds (also `RateLimit-Limit`, `RateLimit-Remaining`, "
            "`RateLimit-Reset`)"
        },
        503: {
            "description": "Kafka unreachable, or Slack did not list its channels to resolve "
            "a channel name: nothing was accepted"
        },
    }
    in_query, in_path = channel_endpoints(alerts, ALERTS_CHANNEL)
    for path in ("/alert", "/alerts", "/alert/{channel}", "/alerts/{channel}"):
        router.add_api_route(
            path,
            in_path if "{channel}" in path else in_query,
            name="alerts",
            methods=["POST"],
            responses=responses,
            openapi_extra=alert_body,
        )
    webhook_responses = {
        **responses,
        202: {
            "description": "the valid alerts stored on the alerts topic and the invalid ones on "
            "alerts.dlq, acknowledged by the broker; `rejected` names the invalid ones "
            "(`index`, `fingerprint`, `error`, `problems`); `positions` and `after` as for "
            "`POST /alerts`"
        },
        204: {"description": "nothing to store: every alert was ignored"},
        400: {"description": "not an Alertmanager webhook (version 4); nothing was stored"},
    }
    in_query, in_path = channel_endpoints(prometheus, ALERTMANAGER_CHANNEL)
    # Alert Bridge's path for the same webhook is an alias.
    for path in (
        "/prometheus-alert",
        "/prometheus-alert/{channel}",
        "/alertmanager/webhook",
        "/alertmanager/webhook/{channel}",
    ):
        router.add_api_route(
            path,
            in_path if "{channel}" in path else in_query,
            name="prometheus",
            methods=["POST"],
            responses=webhook_responses,
            openapi_extra=alertmanager_body,
        )
    return router


def channel_endpoints(ingest: Ingest, description: str) -> tuple[Endpoint, Endpoint]:
    """`ingest` with its channel from the query (`?channel=`) and from the path: FastAPI
    documents a parameter by where it is read, so each place needs its own endpoint."""

    # Defaults, not `Annotated`: the annotations are text here, and could not see `description`.
    async def in_query(
        request: Request, channel: str | None = Query(None, description=description)
    ) -> Response:
        return await ingest(request, channel)

    async def in_path(request: Request, channel: str = Path(description=description)) -> Response:
        return await ingest(request, channel)

    in_query.__doc__ = in_path.__doc__ = ingest.__doc__
    return in_query, in_path
