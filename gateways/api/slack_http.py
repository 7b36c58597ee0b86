"""Slack's HTTP mode: the Request URLs `/slack/events`, `/slack/interactions`, `/slack/commands`.

For workspaces that cannot use Socket Mode. Each request is checked against the signing
secret (`request_signature`), then read into the same (type, payload) a Socket Mode envelope
carries (an Events API callback, an interactive `payload` form field, a slash command's form)
and answered by the same `Acknowledger` as Socket Mode: the answer is the HTTP response.
An event left unacknowledged (not stored yet) is a 503, which Slack retries. Slack's
`url_verification` challenge is answered, and its `ssl_check` pings too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateways.api.bodies import parse_json, read_bytes
from gateways.api.errors import ApiError
from gateways.slack.acks import Ack, Acknowledger
from gateways.slack.metrics import count_request
from gateways.slack.request_signature import BadSlackSignature, verify_slack_request

# Slack's payloads are small; a larger body is not Slack's.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SlackHttpMode:
    acks: Acknowledger
    signing_secret: str
    clock: Callable[[], float]  # seconds since the epoch, for the five-minute window


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "acknowledged; the body is Slack's answer (may be empty)"},
    400: {"description": "not a Slack request body"},
    401: {"description": "the signature or its timestamp does not check out (says which)"},
    404: {"description": "HTTP mode is off: no SLACK_SIGNING_SECRET or SLACK_BOT_TOKEN"},
    503: {"description": "an event that could not be stored yet; Slack sends it again"},
}


def slack_router(mode: SlackHttpMode | None) -> APIRouter:
    router = APIRouter(prefix="/slack", tags=["slack"])

    async def signed(request: Request) -> bytes:
        if mode is None:
            raise ApiError(
                404,
                "Slack's HTTP mode is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN",
            )
        raw = await read_bytes(request, MAX_BODY_BYTES)
        try:
            verify_slack_request(
                raw,
                request.headers.get("x-slack-request-timestamp"),
                request.headers.get("x-slack-signature"),
                mode.signing_secret,
                mode.clock(),
            )
        except BadSlackSignature as error:
            raise ApiError(401, str(error)) from None
        return raw

    @router.post("/events", responses=_RESPONSES)
    async def events(request: Request) -> Response:
        """The Events API Request URL (reactions), and its URL verification."""
        body = parse_json(await signed(request))
        if not isinstance(body, dict):
            raise ApiError(400, "an Events API body is a JSON object")
        if body.get("type") == "url_verification":
            return JSONResponse({"challenge": body.get("challenge")})
        if body.get("type") != "event_callback":
            return Response(status_code=200)
        return await _answered(mode, "events_api", body)

    @router.post("/interactions", responses=_RESPONSES)
    async def interactions(request: Request) -> Response:
        """The Interactivity Request URL: buttons, menus, shortcuts, modal submissions."""
        form = _form(await signed(request))
        try:
            payload = json.loads(form.get("payload", ""))
        except json.JSONDecodeError:
            raise ApiError(400, "an interaction carries a JSON `payload` form field") from None
        if not isinstance(payload, dict):
            raise ApiError(400, "an interaction's `payload` is a JSON object")
        return await _answered(mode, "interactive", payload)

    @router.post("/commands", responses=_RESPONSES)
    async def commands(request: Request) -> Response:
        """The slash command's Request URL (`/alertfold`)."""
        form = _form(await signed(request))
        if form.get("ssl_check"):
            return Response(status_code=200)
        return await _answered(mode, "slash_commands", form)

    return router


async def _answered(mode: SlackHttpMode | None, kind: str, payload: dict[str, Any]) -> Response:
    assert mode is not None  # `signed` refused the request otherwise
    ack: Ack | None = await mode.acks.answer(kind, payload)
    count_request("http", kind, ack is not None)
    if ack is None:
        raise ApiError(503, "not stored yet; Slack sends the event again")
    if not ack.payload:
        return Response(status_code=200)
    return JSONResponse(ack.payload)


def _form(raw: bytes) -> dict[str, str]:
    """A form body, first value of each field (Slack sends each once)."""
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ApiError(400, "body is not a UTF-8 form") from None
    return {name: values[0] for name, values in fields.items()}
