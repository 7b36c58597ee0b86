"""Notification channels (CRUD and a test send) and the delivery log, over HTTP.

Channel routes need an operator key when operator keys are configured, else an ingest key
when those are (they change what alertfold sends, and targets reveal where); the log is a
view. Secrets are never answered: each secret field reads `"***"`, and a PUT that sends
`"***"` back keeps the stored secret, so a client can GET, edit and PUT a channel without
knowing its secrets.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError

from gateways.api.auth import OPERATOR_RESPONSES, UNAUTHORIZED_RESPONSE, require, require_operator
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.notify.channel_store import ChannelExists, ChannelNotFound, ChannelReadOnly
from gateways.notify.channels import (
    ChannelSpec,
    NotificationChannel,
    masked_target,
    target_secrets,
)
from gateways.notify.services import NotificationServices
from infra.secret_box import SecretBoxError

MASK = "***"
_ANSWERED_ONLY = ("source", "read_only")
_CHANNEL_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "allOf": [{"$ref": "#/components/schemas/ChannelSpec"}],
                "description": "A channel; POST may also give its `id` (else one is made).",
            }
        }
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not JSON, or a query parameter is invalid"},
    404: {"description": "no channel with this id"},
    409: {"description": "the id is taken, or the channel is declared in the channels file"},
    422: {"description": "the channel is invalid (the error names the field)"},
    503: {"description": "notifications are not set up, or secrets cannot be opened"},
}


def notifications_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(tags=["notifications"])
    keyed: dict[str, Any] = {
        "dependencies": [Depends(require_operator(deps.access, ingest_until_operators=True))],
        "responses": {**OPERATOR_RESPONSES, **_ERRORS},
    }
    viewed: dict[str, Any] = {
        "dependencies": [Depends(require(deps.view_keys))],
        "responses": {**UNAUTHORIZED_RESPONSE, 400: _ERRORS[400], 503: _ERRORS[503]},
    }

    def services() -> NotificationServices:
        if deps.notifications is None:
            raise ApiError(503, "notifications are not set up in this process")
        return deps.notifications

    @router.get("/notification-channels", **keyed)
    async def list_channels() -> dict[str, Any]:
        channels = await _call(services().channels.all)
        return {"channels": [channel_view(c) for c in channels], "count": len(channels)}

    with_body: dict[str, Any] = {"openapi_extra": {"requestBody": _CHANNEL_BODY}, **keyed}

    @router.post("/notification-channels", status_code=201, **with_body)
    async def create_channel(request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        channel_id = body.pop("id", None) or uuid.uuid4().hex[:12]
        channel = _channel(body, channel_id)
        try:
            created = await _call(services().channels.create, channel)
        except ChannelExists:
            raise ApiError(409, f"a notification channel with id {channel_id} exists") from None
        return channel_view(created)

    @router.get("/notification-channels/{channel_id}", **keyed)
    async def get_channel(channel_id: str) -> dict[str, Any]:
        return channel_view(await _existing(services(), channel_id))

    @router.put("/notification-channels/{channel_id}", **with_body)
    async def replace_channel(channel_id: str, request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        if body.pop("id", channel_id) != channel_id:
            raise ApiError(422, "id: differs from the channel id in the path")
        existing = await _existing(services(), channel_id)
        if existing.read_only:
            raise _read_only(channel_id)
        channel = _channel(_keep_secrets(body, existing), channel_id)
        try:
            return channel_view(await _call(services().channels.replace, channel))
        except ChannelNotFound:
            raise ApiError(404, f"no notification channel with id {channel_id}") from None

    @router.delete("/notification-channels/{channel_id}", status_code=204, **keyed)
    async def delete_channel(channel_id: str) -> Response:
        try:
            await _call(services().channels.delete, channel_id)
        except ChannelNotFound:
            raise ApiError(404, f"no notification channel with id {channel_id}") from None
        except ChannelReadOnly:
            raise _read_only(channel_id) from None
        return Response(status_code=204)

    @router.post("/notification-channels/{channel_id}/test", **keyed)
    async def test_channel(channel_id: str) -> dict[str, Any]:
        """Send one TEST notification through the channel, now, with no retry."""
        channel = await _existing(services(), channel_id)
        return asdict(await services().try_channel(channel))

    @router.get("/notification-log", **viewed)
    async def notification_log(
        channel_id: str | None = None,
        issue_id: str | None = None,
        ok: Annotated[bool | None, Query(description="Only successful or failed attempts.")] = None,
        since: Annotated[datetime | None, Query(description="Only attempts at or after.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Delivery attempts, newest first."""
        attempts = await _call(
            lambda: services().deliveries.attempts(
                channel_id=channel_id, issue_id=issue_id, ok=ok, since=since, limit=limit
            )
        )
        return {"attempts": attempts, "count": len(attempts), "limit": limit}

    return router


def channel_view(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "enabled": channel.enabled,
        "target": masked_target(channel.target),
        "rule": channel.rule.model_dump(mode="json"),
        "source": channel.source,
        "read_only": channel.read_only,
    }


async def _call(function: Any, *args: Any) -> Any:
    """Run a store call off the event loop; unopenable secrets become a 503 naming the key."""
    try:
        return await asyncio.to_thread(function, *args)
    except SecretBoxError as error:
        raise ApiError(503, str(error)) from None


async def _existing(services: NotificationServices, channel_id: str) -> NotificationChannel:
    try:
        channel: NotificationChannel = await _call(services.channels.get, channel_id)
    except ChannelNotFound:
        raise ApiError(404, f"no notification channel with id {channel_id}") from None
    return channel


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    # What GET answers besides the channel itself, so a GET can be edited and PUT back.
    for answered_only in _ANSWERED_ONLY:
        body.pop(answered_only, None)
    return body


def _channel(body: dict[str, Any], channel_id: str) -> NotificationChannel:
    try:
        spec = ChannelSpec.model_validate(body)
        return NotificationChannel(id=channel_id, **dict(spec))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiError(422, f"{field}: {first['msg'].removeprefix('Value error, ')}") from None


def _keep_secrets(body: dict[str, Any], existing: NotificationChannel) -> dict[str, Any]:
    """`"***"` in a secret field of the same kind of target means "the stored value"."""
    target = body.get("target")
    if not isinstance(target, dict) or target.get("kind") != existing.target.kind:
        return body
    stored = target_secrets(existing.target)
    kept = {
        name: stored[name] if name in stored and _masked(value) else value
        for name, value in target.items()
    }
    return {**body, "target": kept}


def _masked(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value) and all(item == MASK for item in value.values())
    return bool(value == MASK)


def _read_only(channel_id: str) -> ApiError:
    return ApiError(
        409,
        f"notification channel {channel_id} is declared in the channels file "
        "(ALERTFOLD_NOTIFICATION_CHANNELS_FILE); change it there",
    )
