"""Read endpoints: the lookup view, the routing table, liveness and health."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.history import issue_at
from gateways.slack.channel_directory import ChannelsUnavailable, SlackChannel
from projections.move_mappings import mapping_view

log = logging.getLogger("alertfold.api")


def views_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter()
    # Views need a view key when keys are set; /ping and /health stay open for probes.
    guarded: dict[str, Any] = {
        "dependencies": [Depends(require(deps.view_keys))],
        "responses": UNAUTHORIZED_RESPONSE,
    }

    @router.get("/issues", tags=["views"], **guarded)
    def list_issues(
        channel_id: str | None = None,
        status: Literal["open", "resolved", "archived"] | None = None,
        correlation_id: str | None = None,
        slack_ts: str | None = Query(None, description="The ts of the issue's Slack message."),
        limit: int = Query(100, ge=1, le=1000),
        # Both databases take 64-bit offsets; a larger one was a 500 from SQLite.
        offset: int = Query(0, ge=0, le=2**63 - 1),
    ) -> dict[str, Any]:
        issues = deps.store.list_issues(
            channel_id=channel_id.upper() if channel_id else None,
            status=status,
            correlation_id=correlation_id,
            slack_ts=slack_ts,
            limit=limit,
            offset=offset,
        )
        return {"issues": issues, "count": len(issues), "limit": limit, "offset": offset}

    @router.get("/issues/{issue_id}", tags=["views"], **guarded)
    def get_issue(
        issue_id: str,
        at: str | None = Query(
            None,
            description="A past time (ISO 8601, UTC without a zone): the issue as it was "
            "then, from the audit store; 404 before the issue opened.",
        ),
    ) -> dict[str, Any]:
        if at is not None:
            return issue_at(deps, issue_id, at)
        issue = deps.store.get_issue(issue_id)
        if issue is None:
            raise ApiError(404, f"no issue with id {issue_id}")
        return issue

    @router.get("/channels", tags=["views"], **guarded)
    async def channels() -> list[dict[str, Any]]:
        """Channels with open issues (most recently active first), then the other channels
        the bot is in; each `{id, name, open_issues, last_activity}`. `name` needs a bot
        token (null without one, while Slack does not answer, or for a channel the bot
        has left)."""
        active = await asyncio.to_thread(deps.store.active_channels)
        listed: list[SlackChannel] = []
        if deps.channel_directory is not None:
            try:
                listed = await deps.channel_directory.channels()
            except ChannelsUnavailable as error:  # the channels with issues still answer
                log.warning("GET /channels without names: %s", error)
        names = {c.id: c.name for c in listed}
        shown = [
            {
                "id": c["channel_id"],
                "name": names.get(c["channel_id"]),
                **{k: v for k, v in c.items() if k != "channel_id"},
            }
            for c in active
        ]
        seen = {c["id"] for c in shown}
        quiet = {"open_issues": 0, "last_activity": None}
        return shown + [{"id": c.id, "name": c.name, **quiet} for c in listed if c.id not in seen]

    @router.get("/mappings", tags=["views"], **guarded)
    def mappings(kind: Literal["route", "move"] | None = None) -> list[dict[str, Any]]:
        """Routing rules (Slack Manager's shape), then move mappings (`"kind": "move"`):
        the channel a moved issue's later alerts follow it to."""
        routes = deps.routes.describe() if kind in (None, "route") else []
        moves = deps.store.move_mappings() if kind in (None, "move") else []
        return [*routes, *(mapping_view(m) for m in moves)]

    @router.get("/ping", response_class=PlainTextResponse, tags=["health"])
    def ping() -> str:
        return "pong"

    @router.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        (broker_ok, broker_detail), (db_ok, db_detail) = await asyncio.gather(
            deps.broker_check(), asyncio.to_thread(deps.database_check)
        )
        healthy = broker_ok and db_ok
        return JSONResponse(
            {
                "status": "ok" if healthy else "unhealthy",
                "broker": {"ok": broker_ok, "detail": broker_detail},
                "database": {"ok": db_ok, "detail": db_detail},
            },
            status_code=200 if healthy else 503,
        )

    return router
