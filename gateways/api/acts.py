"""`POST /issues/{id}/acknowledge|unacknowledge|resolve|reopen|silence|move`: acting over HTTP.

Each act is checked against the lookup view (404 for an unknown issue, 409 with the reason
when it does not apply, see `gateways.api.act_rules`), then written as the input Slack
would write, and answered 202 only once the broker acknowledged it. The web page acts
through `perform`, the same code. Who acted is the operator named by the key (`web:<name>`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Depends

from gateways.alert_publisher import BrokerUnavailable
from gateways.api.act_rules import Act, MoveBody, SilenceBody, interaction, issue_silence, why_not
from gateways.api.auth import OPERATOR_RESPONSES, Operator, require_operator
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.slack.channel_directory import ChannelsUnavailable
from wire.interactions import encode_interaction


async def perform(
    deps: ApiDependencies,
    issue_id: str,
    act: Act,
    operator: Operator,
    *,
    silence: SilenceBody | None = None,
    move: MoveBody | None = None,
) -> dict[str, Any]:
    """Check the act and store its input; the answer names what was accepted."""
    issue = await asyncio.to_thread(deps.store.get_issue, issue_id)
    if issue is None:
        raise ApiError(404, f"no issue with id {issue_id}")
    target = move.channel_id.upper() if move else None
    problem = why_not(act, issue, target=target)
    if problem:
        raise ApiError(409, problem)
    now = deps.clock()
    if act is Act.SILENCE:
        if silence is None:
            raise ApiError(400, "a silence needs duration_seconds or ends_at")
        if silence.ends(now) <= now:
            raise ApiError(400, "ends_at is not in the future")
        if deps.silences is None:
            raise ApiError(503, "silences are not available in this process")
        set_silence = issue_silence(issue, operator, silence, silence_id=str(uuid.uuid4()), now=now)
        await _stored(deps.silences.publisher.create(set_silence))
        deps.silences.catalog.apply(set_silence, now)
        return {"accepted": set_silence.id, "issue_id": issue_id, "act": act.value}
    if target is not None:
        await _check_bot_is_in(deps, target)
    act_input = interaction(
        act, issue, operator, interaction_id=f"web/{uuid.uuid4()}", at=now, move=move
    )
    await _stored(
        deps.publisher.publish_to(
            deps.interactions_topic, [(act_input.channel_id, encode_interaction(act_input))]
        )
    )
    return {"accepted": act_input.interaction_id, "issue_id": issue_id, "act": act.value}


def acts_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(tags=["acts"])
    # A default, not an annotation: annotations are strings here, and this one is local.
    acting = Depends(require_operator(deps.access))
    answers: dict[str, Any] = {"status_code": 202, "responses": _RESPONSES}

    @router.post("/issues/{issue_id}/acknowledge", **answers)
    async def acknowledge(issue_id: str, operator: Operator = acting) -> dict[str, Any]:
        """Acknowledge an open issue: someone is on it."""
        return await perform(deps, issue_id, Act.ACKNOWLEDGE, operator)

    @router.post("/issues/{issue_id}/unacknowledge", **answers)
    async def unacknowledge(issue_id: str, operator: Operator = acting) -> dict[str, Any]:
        """Take an acknowledgement back."""
        return await perform(deps, issue_id, Act.UNACKNOWLEDGE, operator)

    @router.post("/issues/{issue_id}/resolve", **answers)
    async def resolve(issue_id: str, operator: Operator = acting) -> dict[str, Any]:
        """Resolve an open issue by hand."""
        return await perform(deps, issue_id, Act.RESOLVE, operator)

    @router.post("/issues/{issue_id}/reopen", **answers)
    async def reopen(issue_id: str, operator: Operator = acting) -> dict[str, Any]:
        """Open a resolved issue again, at its latest alert's severity."""
        return await perform(deps, issue_id, Act.REOPEN, operator)

    @router.post("/issues/{issue_id}/silence", **answers)
    async def silence(
        issue_id: str, body: SilenceBody, operator: Operator = acting
    ) -> dict[str, Any]:
        """Silence the issue (its channel and correlation id) from now; `accepted` is the
        silence's id (expire it with `DELETE /silences/{id}`)."""
        return await perform(deps, issue_id, Act.SILENCE, operator, silence=body)

    @router.post("/issues/{issue_id}/move", **answers)
    async def move(issue_id: str, body: MoveBody, operator: Operator = acting) -> dict[str, Any]:
        """Move the issue to another Slack channel; its later alerts follow it."""
        return await perform(deps, issue_id, Act.MOVE, operator, move=body)

    return router


async def _check_bot_is_in(deps: ApiDependencies, channel_id: str) -> None:
    """A moved issue is posted in its new channel, so alertfold must be a member there
    (checked only with a bot token: in dry-run nothing is posted)."""
    if deps.channel_directory is None:
        return
    try:
        channels = await deps.channel_directory.channels()
    except ChannelsUnavailable as error:
        raise ApiError(503, f"cannot check the target channel: {error}") from None
    if channel_id not in {channel.id for channel in channels}:
        raise ApiError(
            409, f"alertfold is not a member of channel {channel_id}: invite it there first"
        )


async def _stored(publishing: Awaitable[object]) -> None:
    """Wait for the broker's acknowledgement; its absence is a 503 that stores nothing."""
    try:
        await publishing
    except BrokerUnavailable as error:
        raise ApiError(
            503,
            f"Kafka did not acknowledge the act, so it is not accepted; retry later ({error})",
            headers={"Retry-After": "5"},
        ) from None


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **OPERATOR_RESPONSES,
    202: {
        "description": "stored once the broker acknowledged it: `accepted` is the "
        "interaction's id (a silence's id for `/silence`), `issue_id`, `act`; the fold applies "
        "it, and the views show the change, moments later"
    },
    400: {"description": "the body is invalid"},
    404: {"description": "no issue with this id in the lookup view"},
    409: {"description": "the act does not apply to the issue as it stands; `error` says why"},
    503: {"description": "Kafka did not acknowledge the act, or silences are not available"},
}
