"""Read endpoints: the lookup view, the routing table, liveness and health.

The issue views are async and answer from `LookupReader` in the event loop's own thread:
their queries take tens of microseconds, less than handing them to a thread pool would
cost, and the answer is the stored JSON text of each issue, sent as it is.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from gateways.api.auth import UNAUTHORIZED_MESSAGE, UNAUTHORIZED_RESPONSE, require
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.history import issue_at
from gateways.api.read_marks import ReadMarks
from gateways.api.view_params import (
    FILTERS,
    PAGING,
    READ_AFTER,
    IssueCounts,
    IssuePage,
    IssueView,
    Param,
    issue_filters,
    issue_page_query,
    openapi_parameters,
    read_after,
)
from gateways.slack.channel_directory import ChannelsUnavailable, SlackChannel
from projections.lookup_queries import IssueQuery
from projections.lookup_reader import LookupReader
from projections.move_mappings import mapping_view

log = logging.getLogger("alertfold.api")
JSON = "application/json"
# Served by `gateways.api.direct_routes` (their endpoints take only the request and the
# path's parameters); `/issues/counts` before the route it would otherwise match as an id.
DIRECT_PATHS = ("/issues", "/issues/counts", "/issues/{issue_id}")


class Reachability(BaseModel):
    ok: bool
    detail: str = Field(description="What the check found: how it answered, or why it did not.")


class Health(BaseModel):
    status: Literal["ok", "unhealthy"]
    broker: Reachability
    database: Reachability


HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Health, "description": "the broker and the database both answer"},
    503: {
        "model": Health,
        "description": 'the broker or the database does not answer: `"status": "unhealthy"`, '
        "and the one that failed has `ok` false and says why in `detail`",
    },
}


def views_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter()
    reader = LookupReader(deps.store.engine)
    marks = ReadMarks(reader, deps.publisher.topic)
    # Views need a view key when keys are set; /ping and /health stay open for probes.
    guarded: dict[str, Any] = {
        "dependencies": [Depends(require(deps.view_keys))],
        "responses": UNAUTHORIZED_RESPONSE | ReadMarks.RESPONSES,
    }

    def documented(
        model: type[Any], *groups: tuple[Param, ...], missing: bool = False
    ) -> dict[str, Any]:
        # The key is checked in the endpoint (`admit`), not by a dependency: FastAPI's
        # dependency machinery costs more than the rest of the request.
        return {
            "tags": ["views"],
            "response_class": Response,
            "responses": {
                200: {"model": model},
                **({404: {"description": "no such issue"}} if missing else {}),
                **guarded["responses"],
            },
            "openapi_extra": openapi_parameters(*groups) | {"security": [{"apiKey": []}]},
        }

    def admit(request: Request) -> None:
        if not deps.view_keys.admit(request.headers.get("authorization")):
            raise ApiError(401, UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})

    @router.get("/issues", **documented(IssuePage, FILTERS, PAGING, READ_AFTER))
    async def list_issues(request: Request) -> Response:
        """Issues matching every filter, newest change first unless `sort` says otherwise;
        `next_cursor` continues the list (null on the last page)."""
        admit(request)
        params = request.query_params
        query = issue_page_query(params)
        await marks.wait(*read_after(params))
        return Response(reader.page(query), media_type=JSON)

    @router.get("/issues/counts", **documented(IssueCounts, FILTERS, READ_AFTER))
    async def count_issues(request: Request) -> Response:
        """How many issues match, by state (`open`, `acknowledged`, `resolved`, `archived`;
        an open issue someone acknowledged counts only as `acknowledged`), then the same by
        severity and by channel, each with its `total`."""
        admit(request)
        params = request.query_params
        query = IssueQuery(**issue_filters(params))
        await marks.wait(*read_after(params))
        return Response(reader.counts(query), media_type=JSON)

    at_param = Param(
        "at",
        {"type": "string"},
        "A past time (ISO 8601, UTC without a zone): the issue as it was then, from the "
        "audit store; 404 before the issue opened.",
    )

    @router.get(
        "/issues/{issue_id}",
        **documented(IssueView, (at_param,), READ_AFTER, missing=True),
    )
    async def get_issue(issue_id: str, request: Request) -> Response:
        admit(request)
        params = request.query_params
        await marks.wait(*read_after(params))
        at = params.get("at")
        if at is not None:
            return JSONResponse(await asyncio.to_thread(issue_at, deps, issue_id, at))
        issue = reader.issue(issue_id)
        if issue is None:
            raise ApiError(404, f"no issue with id {issue_id}")
        return Response(issue, media_type=JSON)

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

    @router.get("/health", tags=["health"], responses=HEALTH_RESPONSES)
    async def health() -> JSONResponse:
        """Whether Kafka and the database answer: a readiness probe."""
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
