"""Notification settings (`/ui/settings/notifications`) and the delivery log page.

Channels with their last delivery; a form per kind to create or edit one; "Send test" with
the attempt's result shown at once; a preview of what the channel receives; delete after
typing the channel's name. Channels' targets say where notifications go, so, like the
channel endpoints, these pages need an operator's session; the delivery log is a view.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateways.api.errors import ApiError
from gateways.notify.channel_store import ChannelExists, ChannelNotFound, ChannelReadOnly
from gateways.notify.channels import NotificationChannel, masked_target
from gateways.notify.services import NotificationServices
from gateways.web.channel_forms import (
    FIELDS,
    KIND_LABELS,
    ROUTED_KINDS,
    ChannelFormError,
    channel_from_form,
    form_of,
    payload_preview,
    rule_summary,
)
from gateways.web.issue_source import SEVERITIES
from gateways.web.shell import Web, answer
from infra.secret_box import SecretBoxError
from projections.audit_history import parse_time

SETTINGS = "/ui/settings/notifications"
LOG_LIMIT = 200


def notification_pages(web: Web) -> APIRouter:
    router = APIRouter(tags=["web page"], default_response_class=HTMLResponse)

    async def settings(request: Request, status_code: int = 200, **extra: Any) -> Response:
        visitor = web.reader(request)
        if not visitor.may_act:
            return await web.page(
                request,
                visitor,
                "message.html",
                403,
                title="Notification settings",
                message="Notification settings need a session signed in with an operator key.",
            )
        services = _services(web)
        channels = await _call(services.channels.all)
        editing = extra.pop("editing", None) or request.query_params.get("edit", "")
        current = next((c for c in channels if c.id == editing), None)
        values = extra.pop("values", None) or (form_of(current) if current else _blank())
        rows = [await _row(services, channel) for channel in channels]
        return await web.page(
            request,
            visitor,
            "notifications.html",
            status_code,
            section="notifications",
            rows=rows,
            editing=current,
            values=values,
            fields=FIELDS,
            kind_labels=KIND_LABELS,
            routed_kinds=ROUTED_KINDS,
            severities=SEVERITIES,
            **extra,
        )

    @router.get(SETTINGS, summary="Notification settings page")
    async def notifications(request: Request) -> Response:
        """Channels, their last delivery, and the form (`?edit=ID` to edit one)."""
        return await settings(request)

    @router.post(SETTINGS, summary="Create a notification channel, or preview it")
    async def create(request: Request) -> Response:
        return await _save(request, None)

    @router.post(SETTINGS + "/{channel_id}", summary="Edit a notification channel, or preview it")
    async def edit(request: Request, channel_id: str) -> Response:
        return await _save(request, channel_id)

    async def _save(request: Request, channel_id: str | None) -> Response:
        _, form = await web.posted(request, acting=True)
        services = _services(web)
        existing = await _existing(services, channel_id) if channel_id else None
        values = dict(form_of(existing)) if existing else {}
        values.update({k: ",".join(v) for k, v in form.fields.items()})
        try:
            channel = channel_from_form(form, channel_id or uuid.uuid4().hex[:12], existing)
        except ChannelFormError as error:
            return await settings(
                request, 400, editing=channel_id, values=values, problem=str(error)
            )
        if form.get("action") == "preview":
            preview = payload_preview(channel, web.deps.clock(), services.public_url)
            return await settings(request, editing=channel_id, values=values, preview=preview)
        try:
            if existing is None:
                await _call(services.channels.create, channel)
            else:
                await _call(services.channels.replace, channel)
        except (ChannelExists, ChannelReadOnly, ChannelNotFound) as error:
            return await settings(
                request, 409, editing=channel_id, values=values, problem=str(error)
            )
        return answer(request, form, f"Channel {channel.name} saved")

    @router.post(SETTINGS + "/{channel_id}/test", summary="Send a test through a channel")
    async def test(request: Request, channel_id: str) -> Response:
        """One test notification, now; its result is shown with the channel."""
        _, form = await web.posted(request, acting=True)
        services = _services(web)
        channel = await _existing(services, channel_id)
        result = asdict(await services.try_channel(channel))
        message = _outcome(result)
        if request.headers.get("x-requested-with") == "fetch":
            return answer(request, form, message)
        return await settings(request, tested={channel_id: message})

    @router.post(SETTINGS + "/{channel_id}/delete", summary="Delete a notification channel")
    async def delete(request: Request, channel_id: str) -> Response:
        """Deletes the channel when `confirm_name` is its name, typed again."""
        _, form = await web.posted(request, acting=True)
        services = _services(web)
        channel = await _existing(services, channel_id)
        if form.get("confirm_name") != channel.name:
            return answer(
                request, form, f"Type the channel's name, {channel.name}, to delete it", 400
            )
        try:
            await _call(services.channels.delete, channel_id)
        except ChannelReadOnly as error:
            return answer(request, form, str(error), 409)
        return answer(request, form, f"Channel {channel.name} deleted")

    @router.get("/ui/notifications/log", summary="Delivery log page")
    async def delivery_log(request: Request) -> Response:
        """Delivery attempts, newest first, filtered by `channel_id`, `issue_id`, `ok`
        (`yes`/`no`) and `since`."""
        visitor = web.reader(request)
        params = {
            k: request.query_params.get(k, "").strip()
            for k in ("channel_id", "issue_id", "ok", "since")
        }
        problem = ""
        since: datetime | None = None
        if params["since"]:
            try:
                since = parse_time(params["since"])
            except ValueError as error:
                problem = f"since: {error}"
        ok = {"yes": True, "no": False}.get(params["ok"])
        attempts = await _call(
            lambda: _services(web).deliveries.attempts(
                channel_id=params["channel_id"] or None,
                issue_id=params["issue_id"] or None,
                ok=ok,
                since=since,
                limit=LOG_LIMIT,
            )
        )
        return await web.page(
            request,
            visitor,
            "delivery_log.html",
            section="log",
            attempts=attempts,
            params=params,
            problem=problem,
            limit=LOG_LIMIT,
        )

    return router


def _blank() -> dict[str, str]:
    return {"kind": "webhook", "enabled": "on", "email.security": "starttls"}


async def _row(services: NotificationServices, channel: NotificationChannel) -> dict[str, Any]:
    last = await _call(lambda: services.deliveries.attempts(channel_id=channel.id, limit=1))
    return {
        "channel": channel,
        "target": masked_target(channel.target),
        "rule": rule_summary(channel.rule),
        "last": last[0] if last else None,
    }


def _outcome(result: dict[str, Any]) -> str:
    if result.get("ok"):
        status = f" ({result['status_code']})" if result.get("status_code") else ""
        return f"Test sent: accepted{status} in {result.get('latency_ms', 0):.0f} ms"
    return f"Test failed: {result.get('error') or result.get('status_code')}"


def _services(web: Web) -> NotificationServices:
    if web.deps.notifications is None:
        raise ApiError(503, "notifications are not set up in this process")
    return web.deps.notifications


async def _existing(services: NotificationServices, channel_id: str) -> NotificationChannel:
    try:
        channel: NotificationChannel = await _call(services.channels.get, channel_id)
    except ChannelNotFound:
        raise ApiError(404, f"no notification channel with id {channel_id}") from None
    return channel


async def _call(function: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(function, *args)
    except SecretBoxError as error:
        raise ApiError(503, str(error)) from None
