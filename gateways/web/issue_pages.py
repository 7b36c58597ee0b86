"""The issues page (`/ui/`), an issue's page (`/ui/issues/{id}`) and acting from them.

An issue's page shows it now, or, with `?version=N` or `?at=TIME`, exactly as it was then
(from the audit store, like `alertfold audit --version/--at`), beside its whole timeline.
Acts go through `gateways.api.acts.perform`, the code of the HTTP act endpoints.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from gateways.api.act_rules import Act, MoveBody, SilenceBody
from gateways.api.acts import perform
from gateways.api.errors import ApiError
from gateways.slack.channel_directory import ChannelsUnavailable
from gateways.web.filters import list_query
from gateways.web.shell import Form, Web, answer
from projections.audit_history import HistoryEntry, parse_time
from projections.audit_store import AuditQueryError, state_view

log = logging.getLogger("alertfold.web")

PAGE_SIZE = 50
_DONE = {
    Act.ACKNOWLEDGE: "Acknowledgement sent",
    Act.UNACKNOWLEDGE: "Unacknowledgement sent",
    Act.RESOLVE: "Resolution sent",
    Act.REOPEN: "Reopening sent",
    Act.SILENCE: "Silence set",
    Act.MOVE: "Move sent",
}


def issue_pages(web: Web) -> APIRouter:
    router = APIRouter(tags=["web page"], default_response_class=HTMLResponse)

    @router.get("/ui/", summary="Issues page")
    async def issues(request: Request) -> Response:
        """Issues, open first and newest change first, filtered by the query (`channel`,
        `status`, `severity`, `q`, `labels`) and paged by `cursor`."""
        visitor = web.reader(request)
        query = list_query(request.query_params)
        cursor = request.query_params.get("cursor")
        page, counts, channels = await asyncio.gather(
            asyncio.to_thread(web.source.page, query.wanted, cursor, PAGE_SIZE),
            asyncio.to_thread(web.source.counts, query.wanted.channel_id),
            _channels(web),
        )
        return await web.page(
            request,
            visitor,
            "issues.html",
            section="issues",
            query=query,
            issues=page.issues,
            next_cursor=page.next_cursor,
            first_page=not cursor,
            counts=counts,
            channels=channels,
            silence_choices=web.silence_choices,
            live="*",
        )

    @router.get("/ui/issues/{issue_id}", summary="Issue page")
    async def issue(request: Request, issue_id: str) -> Response:
        """Every field, the latest alert, the timeline; `version` or `at` shows the issue as
        it was then."""
        visitor = web.reader(request)
        version = request.query_params.get("version", "")
        at = request.query_params.get("at", "")
        then = await asyncio.to_thread(_issue_then, web, issue_id, version, at)
        shown, current = then.shown, then.current
        if shown is None:
            return await web.page(
                request, visitor, "message.html", 404, title="No such issue", message=then.problem
            )
        # The issue as it stands gets actions and live updates; a past state does not.
        present = current is not None and shown["version"] == current["version"]
        return await web.page(
            request,
            visitor,
            "issue.html",
            section="issues",
            issue=shown,
            history=then.history,
            present=present,
            problem=then.problem,
            at=at,
            channels=await _channels(web),
            silence_choices=web.silence_choices,
            live=issue_id if present else "",
        )

    @router.post("/ui/issues/{issue_id}/{act}", summary="Act on an issue from the page")
    async def act(request: Request, issue_id: str, act: Act) -> Response:
        """The page's forms: the same act as `POST /issues/{id}/{act}`, with a CSRF token."""
        visitor, form = await web.posted(request, acting=True)
        try:
            details = _act_details(act, form, web)
            await perform(web.deps, issue_id, act, visitor.operator, **details)
        except ApiError as error:
            return answer(request, form, error.message, error.status)
        log.info("%s of issue %s from the page by %s", act, issue_id, visitor.operator.actor_id)
        return answer(request, form, f"{_DONE[act]}: {issue_id}", 202)

    return router


def _act_details(act: Act, form: Form, web: Web) -> dict[str, Any]:
    try:
        if act is Act.SILENCE:
            return {"silence": _silence_body(form, web)}
        if act is Act.MOVE:
            return {"move": MoveBody(channel_id=form.get("channel_id"), reason=form.get("reason"))}
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        raise ApiError(400, f"{field}: {first['msg'].removeprefix('Value error, ')}") from None
    return {}


def _silence_body(form: Form, web: Web) -> SilenceBody:
    """Seconds chosen from the menu, or the custom minutes, or an end time."""
    comment = form.get("comment")
    if form.get("duration") == "custom":
        minutes = form.get("minutes")
        if not minutes.isdigit() or int(minutes) == 0:
            raise ApiError(400, "custom silence: give a whole number of minutes")
        return SilenceBody(duration_seconds=int(minutes) * 60, comment=comment)
    if form.get("duration") == "until":
        try:
            ends = parse_time(form.get("ends_at"))
        except ValueError as error:
            raise ApiError(400, f"ends_at: {error}") from None
        if ends <= web.deps.clock():
            raise ApiError(400, "ends_at is not in the future")
        return SilenceBody(ends_at=ends, comment=comment)
    seconds = form.get("duration")
    if not seconds.isdigit():
        raise ApiError(400, "choose how long to silence")
    return SilenceBody(duration_seconds=int(seconds), comment=comment)


@dataclass(frozen=True)
class _Then:
    history: list[HistoryEntry]
    shown: dict[str, Any] | None  # the issue now, or as it was at the version or time asked
    current: dict[str, Any] | None  # the issue in the lookup view now
    problem: str = ""


def _issue_then(web: Web, issue_id: str, version: str, at: str) -> _Then:
    audit = web.deps.audit
    current = web.source.issue(issue_id)
    if audit is None:
        return _Then([], current, current, "History is not available: no audit store.")
    try:
        history = audit.history(issue_id)
    except AuditQueryError as error:
        return _Then([], current, current, "" if current else str(error))
    if current is None and not (version or at):
        version = str(history[-1].version)  # gone from the view (retention): its last state
    try:
        if version:
            if not version.isdigit():
                raise ValueError(f"version {version!r} is not a whole number")
            return _Then(history, state_view(audit.at_version(issue_id, int(version))), current)
        if at:
            moment = parse_time(at) + timedelta(microseconds=999_999)  # the whole second shown
            return _Then(history, state_view(audit.at_time(issue_id, moment)), current)
    except (AuditQueryError, ValueError) as error:
        return _Then(history, current, current, str(error))
    return _Then(history, current, current)


async def _channels(web: Web) -> list[dict[str, Any]]:
    """Channels for the filter and the move form: those with issues, then the bot's."""
    active = await asyncio.to_thread(web.deps.store.active_channels)
    names: dict[str, str] = {}
    if web.deps.channel_directory is not None:
        try:
            names = {c.id: c.name for c in await web.deps.channel_directory.channels()}
        except ChannelsUnavailable as error:
            log.info("channel names unavailable: %s", error)
    listed = [
        {"id": c["channel_id"], "name": names.get(c["channel_id"]), "open": c["open_issues"]}
        for c in active
    ]
    seen = {c["id"] for c in listed}
    return listed + [{"id": i, "name": n, "open": 0} for i, n in names.items() if i not in seen]
