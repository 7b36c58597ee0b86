"""`POST /alert(s)` and `POST /prometheus-alert`: admit, publish, answer.

With a bot token, channel names (`#ops-alerts`, `ops-alerts`) in `slackChannelId`, the
path or an Alertmanager channel annotation or label become the channel's id before the
alerts are admitted, so everything stored is keyed by the id (`channel_directory`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from domain.alertmanager import CHANNEL_KEYS
from domain.intake import Admission, admit_alertmanager, admit_alerts
from gateways.alert_publisher import BrokerUnavailable
from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.bodies import read_json
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.metrics import ApiMetrics
from gateways.api.webhook_seals import sealed_webhooks
from gateways.slack.channel_directory import (
    ChannelDirectory,
    ChannelsUnavailable,
    UnknownChannelName,
)
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
            await deps.publisher.publish(
                [(a.slack_channel_id or "", encode_alert(a, received_at)) for a in accepted]
            )
        except BrokerUnavailable:
            if deps.rate_limiter is not None:
                deps.rate_limiter.give_back(per_channel)  # nothing was accepted
            raise
        metrics.alerts["accepted"] += len(accepted)
        return JSONResponse(
            {"accepted": len(accepted), "ignored": admission.ignored}, status_code=202
        )

    async def alerts(request: Request, channel: str | None = None) -> Response:
        body = await read_json(request, deps.max_body_bytes)
        if deps.channel_directory is not None:
            channel = await _channel_ids(deps.channel_directory, body, channel, _alert_items)
        admission = admit_alerts(body, routes=deps.routes, now=deps.clock(), path_channel=channel)
        return await publish(admission)

    async def prometheus(request: Request, channel: str | None = None) -> Response:
        body = await read_json(request, deps.max_body_bytes)
        if deps.channel_directory is not None:
            channel = await _channel_ids(
                deps.channel_directory, body, channel, _alertmanager_labels
            )
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
    for path in ("/alert", "/alerts", "/alert/{channel}", "/alerts/{channel}"):
        router.add_api_route(
            path, alerts, methods=["POST"], responses=responses, openapi_extra=alert_body
        )
    for path in ("/prometheus-alert", "/prometheus-alert/{channel}"):
        router.add_api_route(
            path, prometheus, methods=["POST"], responses=responses, openapi_extra=alertmanager_body
        )
    return router


def _take_tokens(deps: ApiDependencies, metrics: ApiMetrics, per_channel: Counter[str]) -> None:
    """Refuse the whole request, before anything is published, when a channel is over its rate."""
    if deps.rate_limiter is None:
        return
    refused = deps.rate_limiter.take(per_channel)
    if refused is not None:
        metrics.alerts["rate_limited"] += sum(per_channel.values())
        raise ApiError(429, refused.message, headers=refused.headers())


async def _channel_ids(
    directory: ChannelDirectory,
    body: Any,
    path_channel: str | None,
    places: Callable[[Any], list[tuple[dict[str, Any], str]]],
) -> str | None:
    """Replace channel names by ids in the body (in place) and the path; the path's id."""
    try:
        for holder, key in places(body):
            holder[key] = await directory.resolve(holder[key])
        return await directory.resolve(path_channel) if path_channel else path_channel
    except UnknownChannelName as error:
        raise ApiError(400, f"slackChannelId: {error}") from None
    except ChannelsUnavailable as error:
        raise ApiError(
            503,
            f"Slack did not list its channels to resolve a name ({error})",
            headers={"Retry-After": "5"},
        ) from None


def _alert_items(body: Any) -> list[tuple[dict[str, Any], str]]:
    """Each Slack Manager alert's `slackChannelId`, in the three body shapes."""
    if isinstance(body, dict) and isinstance(body.get("alerts"), list):
        items = body["alerts"]
    else:
        items = body if isinstance(body, list) else [body]
    return [
        (item, "slackChannelId")
        for item in items
        if isinstance(item, dict) and _named(item.get("slackChannelId"))
    ]


def _alertmanager_labels(body: Any) -> list[tuple[dict[str, Any], str]]:
    """Each Alertmanager alert's channel annotation or label."""
    alerts = body.get("alerts") if isinstance(body, dict) else None
    found: list[tuple[dict[str, Any], str]] = []
    for item in alerts if isinstance(alerts, list) else []:
        for part in ("annotations", "labels"):
            values = item.get(part) if isinstance(item, dict) else None
            if isinstance(values, dict):
                found.extend(
                    (values, key)
                    for key, value in values.items()
                    if key.lower() in CHANNEL_KEYS and _named(value)
                )
    return found


def _named(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
