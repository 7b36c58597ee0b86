"""The silences page (`/ui/silences`): active, pending and expired; set one, expire one.

Before a silence is saved, "Preview" shows which open issues it would match: the same
matchers, run on each open issue's latest alert, as the fold runs them on new alerts.
A silence set here is written as `POST /silences` writes it, by the operator signed in.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from domain.silences import MAX_MATCHERS, Matcher, MatchOperator, Silence
from gateways.api.dependencies import SilenceServices
from gateways.api.errors import ApiError
from gateways.web.shell import Form, Web, answer
from projections.audit_history import parse_time
from projections.silence_catalog import SilenceState, state_of

PREVIEW_SHOWN = 20
MATCHER_ROWS = 4


def silence_pages(web: Web) -> APIRouter:
    router = APIRouter(tags=["web page"], default_response_class=HTMLResponse)

    async def page(request: Request, form: Form | None, **extra: Any) -> Response:
        visitor = web.reader(request)
        now = web.deps.clock()
        listed = _services(web).catalog.listed(now) if web.deps.silences else []
        by_state = {
            state: [s for s in listed if state_of(s, now) is state] for state in SilenceState
        }
        return await web.page(
            request,
            visitor,
            "silences.html",
            section="silences",
            by_state=by_state,
            available=web.deps.silences is not None,
            form=form or Form({}),
            rows=MATCHER_ROWS,
            operators=[o.value for o in MatchOperator],
            durations=web.silence_choices,
            **extra,
        )

    @router.get("/ui/silences", summary="Silences page")
    async def silences(request: Request) -> Response:
        return await page(request, None)

    @router.post("/ui/silences", summary="Preview or set a silence from the page")
    async def set_silence(request: Request) -> Response:
        """`action=preview` shows the open issues the silence would match; `action=create`
        sets it."""
        visitor, form = await web.posted(request)
        creating = form.get("action") == "create"
        if creating and not visitor.may_act:
            raise ApiError(403, "setting a silence needs a session signed in with an operator key")
        now = web.deps.clock()
        try:
            silence = _silence(form, now, visitor.operator.actor_id)
        except ApiError as error:
            return await page(request, form, problem=error.message)
        if not creating:
            matched = await asyncio.to_thread(_matching, web, silence.matchers)
            return await page(request, form, preview=matched)
        services = _services(web)
        await services.publisher.create(silence)
        services.catalog.apply(silence, now)
        return answer(request, form, f"Silence {silence.id} set")

    @router.post("/ui/silences/{silence_id}/expire", summary="Expire a silence from the page")
    async def expire(request: Request, silence_id: str) -> Response:
        _, form = await web.posted(request, acting=True)
        services = _services(web)
        silence = services.catalog.get(silence_id)
        if silence is None:
            return answer(request, form, f"No silence {silence_id}", 404)
        services.catalog.apply(await services.publisher.expire(silence), web.deps.clock())
        return answer(request, form, f"Silence {silence_id} expired")

    return router


def _services(web: Web) -> SilenceServices:
    if web.deps.silences is None:
        raise ApiError(503, "silences are not available in this process")
    return web.deps.silences


def _silence(form: Form, now: datetime, created_by: str) -> Silence:
    names, ops, values = (form.all(f"matcher_{part}") for part in ("name", "op", "value"))
    rows = zip(names, ops, values, strict=True)
    try:
        matchers = tuple(
            Matcher(name=name, value=value, operator=MatchOperator(op or "="))
            for name, op, value in itertools.islice(rows, MAX_MATCHERS)
            if name
        )
        if not matchers:
            raise ApiError(400, "give at least one matcher")
        starts_at = parse_time(form.get("starts_at")) if form.get("starts_at") else now
        return Silence(
            id=str(uuid.uuid4()),
            matchers=matchers,
            starts_at=starts_at,
            ends_at=_ends(form, starts_at, now),
            created_by=created_by,
            comment=form.get("comment"),
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "silence"
        raise ApiError(400, f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def _ends(form: Form, starts_at: datetime, now: datetime) -> datetime:
    duration = form.get("duration")
    if duration == "until":
        ends_at = parse_time(form.get("ends_at"))
    elif duration == "custom":
        minutes = form.get("minutes")
        if not minutes.isdigit() or int(minutes) == 0:
            raise ApiError(400, "custom duration: give a whole number of minutes")
        ends_at = starts_at + timedelta(minutes=int(minutes))
    elif duration.isdigit():
        ends_at = starts_at + timedelta(seconds=int(duration))
    else:
        raise ApiError(400, "choose how long the silence lasts")
    if ends_at <= now:
        raise ApiError(400, "the silence would end before now")
    return ends_at


def _matching(web: Web, matchers: tuple[Matcher, ...]) -> dict[str, Any]:
    """How many open issues the matchers match, and the newest of them."""
    count = 0
    shown: list[dict[str, Any]] = []
    for issue in web.source.open_issues():
        if all(matcher.matches(issue["last_alert"]) for matcher in matchers):
            count += 1
            if len(shown) < PREVIEW_SHOWN:
                shown.append(issue)
    return {"count": count, "issues": shown}
