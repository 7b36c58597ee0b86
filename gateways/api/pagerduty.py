"""`POST /pagerduty/webhook`: PagerDuty's incident changes, as interactions on issues.

It only translates: check the signature, read the event, find the issue in the lookup view
(for its channel and correlation id), and put the interaction on the `interactions` topic,
keyed by the issue's channel like every input. The answer is 202 only once the broker
acknowledged the record; a 503 makes PagerDuty deliver again (its retries keep
`X-Webhook-Id`, so a delivery folds once).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateways.alert_publisher import BrokerUnavailable
from gateways.api.bodies import parse_json, read_bytes
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.pagerduty_events import Ignored, NotAnEvent, looks_like_an_issue_id, read_event
from gateways.api.pagerduty_signature import BadSignature, verify_signature
from wire.interactions import encode_interaction

RETRY_AFTER_SECONDS = "60"


def pagerduty_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter(tags=["pagerduty"])

    @router.post("/pagerduty/webhook", status_code=202, responses=_RESPONSES)
    async def pagerduty_webhook(request: Request) -> JSONResponse:
        """PagerDuty webhooks v3: incident acknowledged, unacknowledged or resolved."""
        if not deps.pagerduty_secrets:
            raise ApiError(
                404,
                "PagerDuty webhooks are not configured: set ALERTFOLD_PAGERDUTY_WEBHOOK_SECRETS",
            )
        raw = await read_bytes(request, deps.max_body_bytes)
        try:
            verify_signature(
                raw, request.headers.get("x-pagerduty-signature"), deps.pagerduty_secrets
            )
        except BadSignature as error:
            raise ApiError(401, str(error)) from None
        try:
            found = read_event(parse_json(raw))
        except NotAnEvent as error:
            raise ApiError(400, str(error)) from None
        if isinstance(found, Ignored):
            return _ignored(found.reason)
        issue = await asyncio.to_thread(deps.store.get_issue, found.incident_key)
        if issue is None and looks_like_an_issue_id(found.incident_key):
            raise ApiError(
                503,
                f"issue {found.incident_key} is not in the lookup view (yet); retry later",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        if issue is None:
            return _ignored(f"no alertfold issue {found.incident_key}")
        if issue.get("status") == "archived":
            return _ignored(f"issue {found.incident_key} is archived")
        interaction = found.interaction(issue, request.headers.get("x-webhook-id"))
        try:
            await deps.publisher.publish_to(
                deps.interactions_topic,
                [(interaction.channel_id, encode_interaction(interaction))],
            )
        except BrokerUnavailable as error:
            raise ApiError(
                503,
                f"Kafka did not acknowledge the interaction; retry later ({error})",
                headers={"Retry-After": "5"},
            ) from None
        return JSONResponse(
            {"accepted": interaction.interaction_id, "issue_id": interaction.issue_id},
            status_code=202,
        )

    return router


def _ignored(reason: str) -> JSONResponse:
    return JSONResponse({"ignored": reason}, status_code=202)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "stored on the interactions topic (`accepted`: the interaction id), or "
        "nothing to do (`ignored`: why)"
    },
    400: {"description": "not a PagerDuty webhook event"},
    401: {"description": "X-PagerDuty-Signature missing, or signed by no configured secret"},
    404: {"description": "PagerDuty webhooks are not configured (no secret set)"},
    413: {"description": "body too large"},
    503: {
        "description": "Kafka unreachable, or the incident names an alertfold issue the "
        "lookup view does not hold yet; PagerDuty delivers again"
    },
}
