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


def silences_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(tags=["silences"], responses=UNAUTHORIZED_RESPONSE)
    read = [Depends(require(deps.view_keys))]
    # Silencing quiets people's phones: an operator's act (ingest keys until there are any).
    write = [Depends(require_operator(deps.access, ingest_until_operators=True))]

    @router.get("/silences", dependencies=read)
    def list_silences(state: SilenceState | None = None) -> list[dict[str, Any]]:
        now = deps.clock()
        return [_shown(s, now) for s in _services(deps).catalog.listed(now, state)]

    @router.post("/silences", dependencies=write, status_code=201, responses=OPERATOR_RESPONSES)
    async def set_silence(body: SilenceBody) -> dict[str, Any]:
        """Set a silence: `ends_at` or `duration_seconds`; `starts_at` defaults to now."""
        now = deps.clock()
        silence = _silence(body, now)
        services = _services(deps)
        await services.publisher.create(silence)
        services.catalog.apply(silence)
        return _shown(silence, now)

    @router.delete("/silences/{silence_id}", dependencies=write, responses=OPERATOR_RESPONSES)
    async def expire_silence(silence_id: str) -> dict[str, Any]:
        """Expire the silence now; its issues are no longer silenced."""
        services = _services(deps)
        silence = services.catalog.get(silence_id)
        if silence is None:
            raise ApiError(404, f"no silence {silence_id!r}")
        ended = await services.publisher.expire(silence)
        services.catalog.apply(ended)
        return _shown(ended, deps.clock())

    return router


def _services(deps: ApiDependencies) -> SilenceServices:
    if deps.silences is None:
        raise ApiError(503, "silences are not available in this process")
    return deps.silences


def _silence(body: SilenceBody, now: datetime) -> Silence:
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
            id=str(uuid.uuid4()),
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
