"""`/silences`: list, set and expire silences (Alertmanager's API v2, in spirit and shape).

A new silence is accepted (201) only once every partition of `interactions` has it, so every
channel's actor applies it at a definite place in its inputs. The list is the catalog read
from that log, plus what this API itself just set (read-your-writes).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from domain.alert import problems_from
from domain.errors import summarise
from domain.silences import MAX_MATCHERS, MAX_SILENCE_DAYS, Matcher, MatchOperator, Silence
from gateways.api.auth import OPERATOR_RESPONSES, UNAUTHORIZED_RESPONSE, require, require_operator
from gateways.api.dependencies import ApiDependencies, SilenceServices
from gateways.api.errors import ApiError
from projections.silence_catalog import SilenceState, state_of


class MatcherBody(BaseModel):
    """`operator` (`=`, `!=`, `=~`, `!~`), or Alertmanager's `isRegex`/`isEqual` flags."""

    model_config = ConfigDict(extra="forbid")

    name: str
    value: str
    operator: MatchOperator | None = None
    is_regex: bool = Field(False, validation_alias=AliasChoices("isRegex", "is_regex"))
    is_equal: bool = Field(True, validation_alias=AliasChoices("isEqual", "is_equal"))

    def matcher(self) -> Matcher:
        operator = (
            self.operator
            or {
                (False, True): MatchOperator.EQUAL,
                (False, False): MatchOperator.NOT_EQUAL,
                (True, True): MatchOperator.REGEX,
                (True, False): MatchOperator.NOT_REGEX,
            }[(self.is_regex, self.is_equal)]
        )
        return Matcher(name=self.name, value=self.value, operator=operator)


class SilenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # An existing silence's id updates that silence; empty or absent sets a new one (what
    # Alertmanager's PostableSilence sends).
    id: str = ""
    matchers: list[MatcherBody] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: AwareDatetime | None = Field(
        None, validation_alias=AliasChoices("startsAt", "starts_at")
    )
    ends_at: AwareDatetime | None = Field(None, validation_alias=AliasChoices("endsAt", "ends_at"))
    duration_seconds: int | None = Field(
        None,
        gt=0,
        le=MAX_SILENCE_DAYS * 86_400,
        validation_alias=AliasChoices("durationSeconds", "duration_seconds"),
    )
    created_by: str = Field(validation_alias=AliasChoices("createdBy", "created_by"))
    comment: str = ""


def silence_access(deps: ApiDependencies) -> tuple[list[Any], list[Any]]:
    """Who may read silences (view keys), and who may set and expire them, here and in
    Alertmanager's API: silencing quiets people's phones, an operator's act (ingest keys
    until operator keys are configured)."""
    return [Depends(require(deps.view_keys))], [
        Depends(require_operator(deps.access, ingest_until_operators=True))
    ]


def silences_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(tags=["silences"], responses=UNAUTHORIZED_RESPONSE)
    read, write = silence_access(deps)

    @router.get("/silences", dependencies=read)
    def list_silences(state: SilenceState | None = None) -> list[dict[str, Any]]:
        now = deps.clock()
        return [_shown(s, now) for s in silence_services(deps).catalog.listed(now, state)]

    @router.post("/silences", dependencies=write, status_code=201, responses=OPERATOR_RESPONSES)
    async def set_silence(body: SilenceBody) -> dict[str, Any]:
        """Set a silence: `ends_at` or `duration_seconds`; `starts_at` defaults to now. With
        the `id` of a silence not yet expired, that silence is changed."""
        now = deps.clock()
        return _shown(await store_silence(deps, body, now), now)

    @router.delete("/silences/{silence_id}", dependencies=write, responses=OPERATOR_RESPONSES)
    async def expire_silence(silence_id: str) -> dict[str, Any]:
        """Expire the silence now; its issues are no longer silenced."""
        return _shown(await expire(deps, silence_id), deps.clock())

    return router


async def store_silence(deps: ApiDependencies, body: SilenceBody, now: datetime) -> Silence:
    """Set the silence the body describes; returns once every partition has it."""
    services = silence_services(deps)
    silence = _silence(body, _id_for(services, body.id, now), now)
    await services.publisher.create(silence)
    services.catalog.apply(silence, now)
    return silence


async def expire(deps: ApiDependencies, silence_id: str) -> Silence:
    """End the silence now (404 when there is none with that id)."""
    services = silence_services(deps)
    silence = services.catalog.get(silence_id)
    if silence is None:
        raise ApiError(404, f"no silence {silence_id!r}")
    ended = await services.publisher.expire(silence)
    services.catalog.apply(ended, deps.clock())
    return ended


def silence_services(deps: ApiDependencies) -> SilenceServices:
    if deps.silences is None:
        raise ApiError(503, "silences are not available in this process")
    return deps.silences


def _id_for(services: SilenceServices, requested: str, now: datetime) -> str:
    """The id to set the silence under: a new one, the requested one when it names a silence
    not yet expired (an update), or, as Alertmanager does, a new one when it has expired."""
    if not requested:
        return str(uuid.uuid4())
    existing = services.catalog.get(requested)
    if existing is None:
        raise ApiError(404, f"no silence {requested!r} to update")
    return requested if existing.ends_at > now else str(uuid.uuid4())


def _silence(body: SilenceBody, silence_id: str, now: datetime) -> Silence:
    starts_at = body.starts_at or now
    if (body.ends_at is None) == (body.duration_seconds is None):
        raise ApiError(400, "give exactly one of ends_at and duration_seconds")
    try:
        ends_at = body.ends_at or starts_at + timedelta(seconds=body.duration_seconds or 0)
    except OverflowError:
        raise ApiError(400, "starts_at plus duration_seconds is past the year 9999") from None
    if ends_at <= now:
        raise ApiError(400, f"ends_at {ends_at.isoformat()} is not in the future")
    try:
        return Silence(
            id=silence_id,
            matchers=tuple(m.matcher() for m in body.matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=body.created_by,
            comment=body.comment,
        )
    except ValidationError as error:
        raise ApiError(400, summarise(problems_from(error, str))) from None


def _shown(silence: Silence, now: datetime) -> dict[str, Any]:
    return {**silence.model_dump(mode="json"), "state": state_of(silence, now).value}
