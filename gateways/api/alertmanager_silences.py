"""Alertmanager's API v2 for silences, so `amtool silence add|query|update|expire` manage
alertfold's silences.

These are the silences of `/silences` (`gateways.api.silences`), set and expired the same
way, in Alertmanager's shapes: `POST /api/v2/silences` takes a PostableSilence and answers
`{"silenceID"}`, `GET /api/v2/silences` lists GettableSilences in Alertmanager's order,
filtered as Alertmanager filters (a silence is listed when it has every `filter` matcher,
same name, operator and value), `DELETE /api/v2/silence/{id}` expires one. Errors are a JSON
string, as Alertmanager's are: its clients decode nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from domain.alert import problems_from
from domain.errors import DomainError, summarise
from domain.matcher_syntax import parse_matchers
from domain.silences import Matcher, MatchOperator, Silence
from gateways.api.auth import UNAUTHORIZED_RESPONSE
from gateways.api.bodies import parse_json, read_bytes
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.silences import (
    SilenceBody,
    expire,
    silence_access,
    silence_services,
    store_silence,
)
from projections.lookup import iso_utc
from projections.silence_catalog import SilenceState, state_of

# Alertmanager lists active silences first (ending soonest first), then pending ones
# (starting soonest first), then expired ones (ended most recently first).
_STATE_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}


def alertmanager_silences_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(prefix="/api/v2", tags=["alertmanager"], responses=UNAUTHORIZED_RESPONSE)
    read, write = silence_access(deps)

    @router.get("/silences", dependencies=read)
    def list_silences(filter: Annotated[list[str] | None, Query()] = None) -> Response:
        """Silences in Alertmanager's order, those having every `filter` matcher."""
        try:
            wanted = [m for text in filter or () for m in parse_matchers(text)]
        except DomainError as error:
            return refusal(400, str(error))
        now = deps.clock()
        catalog = silence_services(deps).catalog
        found = [s for s in catalog.listed(now) if all(_has(s, m) for m in wanted)]
        found.sort(key=lambda s: _listing_order(s, now))
        return JSONResponse([gettable_silence(s, now, catalog.updated_at(s.id)) for s in found])

    @router.get("/silence/{silence_id}", dependencies=read)
    def get_silence(silence_id: str) -> Response:
        catalog = silence_services(deps).catalog
        silence = catalog.get(silence_id)
        if silence is None:
            return refusal(404, f"no silence {silence_id!r}")
        return JSONResponse(gettable_silence(silence, deps.clock(), catalog.updated_at(silence_id)))

    @router.post(
        "/silences",
        dependencies=write,
        openapi_extra=_POSTABLE_SILENCE,
        responses={
            200: {"description": '`{"silenceID": "…"}`'},
            400: {"description": "not a valid silence (the reason, as a JSON string)"},
            404: {"description": "`id` names no silence"},
        },
    )
    async def post_silence(request: Request) -> Response:
        """Set a PostableSilence (with the `id` of one not yet expired: change it)."""
        now = deps.clock()
        try:
            body = _postable(await read_bytes(request, deps.max_body_bytes))
            silence = await store_silence(deps, body, now)
        except ApiError as error:
            return refusal(error.status, error.message)
        return JSONResponse({"silenceID": silence.id})

    @router.delete("/silence/{silence_id}", dependencies=write)
    async def delete_silence(silence_id: str) -> Response:
        try:
            await expire(deps, silence_id)
        except ApiError as error:
            return refusal(error.status, error.message)
        return Response(status_code=200)

    return router


# Alertmanager's labelSet, for the documents of its API's bodies.
LABEL_SET = {"type": "object", "additionalProperties": {"type": "string"}}
_POSTABLE_SILENCE: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["matchers", "startsAt", "endsAt", "createdBy", "comment"],
                    "properties": {
                        "id": {"type": "string"},
                        "matchers": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "value", "isRegex"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "value": {"type": "string"},
                                    "isRegex": {"type": "boolean"},
                                    "isEqual": {"type": "boolean", "default": True},
                                },
                            },
                        },
                        "startsAt": {"type": "string", "format": "date-time"},
                        "endsAt": {"type": "string", "format": "date-time"},
                        "createdBy": {"type": "string"},
                        "comment": {"type": "string"},
                        "annotations": LABEL_SET,
                    },
                }
            }
        },
    }
}


def refusal(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as Alertmanager answers one: the message as a JSON string."""
    return JSONResponse(message, status_code=status, headers=headers)


def gettable_silence(
    silence: Silence, now: datetime, updated_at: datetime | None
) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": {"state": state_of(silence, now).value},
        "updatedAt": iso_utc(updated_at or silence.starts_at),
        "matchers": [_matcher(m) for m in silence.matchers],
        "startsAt": iso_utc(silence.starts_at),
        "endsAt": iso_utc(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "annotations": {},
    }


def _postable(raw: bytes) -> SilenceBody:
    """A PostableSilence read as alertfold's silence body (its annotations are not kept)."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a silence (a JSON object)")
    body.pop("annotations", None)
    try:
        return SilenceBody.model_validate(body)
    except ValidationError as error:
        raise ApiError(400, summarise(problems_from(error, str))) from None


def _matcher(matcher: Matcher) -> dict[str, Any]:
    operator = matcher.operator
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": operator in (MatchOperator.REGEX, MatchOperator.NOT_REGEX),
        "isEqual": operator in (MatchOperator.EQUAL, MatchOperator.REGEX),
    }


def _has(silence: Silence, wanted: Matcher) -> bool:
    """Whether the silence has this matcher; `labels.<name>` counts as the label's name."""
    return any(
        (_label_name(m.name), m.operator, m.value)
        == (_label_name(wanted.name), wanted.operator, wanted.value)
        for m in silence.matchers
    )


def _label_name(name: str) -> str:
    return name.removeprefix("labels.")


def _listing_order(silence: Silence, now: datetime) -> tuple[int, float]:
    state = state_of(silence, now)
    if state is SilenceState.PENDING:
        return _STATE_ORDER[state], silence.starts_at.timestamp()
    if state is SilenceState.ACTIVE:
        return _STATE_ORDER[state], silence.ends_at.timestamp()
    return _STATE_ORDER[state], -silence.ends_at.timestamp()
