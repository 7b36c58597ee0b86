"""Routes a surface request (modal, option buttons, silence menu) to the module that owns it.

Opening a modal must happen within Slack's 3 s trigger lifetime, so every opener calls
`views.open` before anything slower; a submission's answer (`response_action: errors`)
travels back in the envelope's acknowledgement, which is why `handle` returns it.
"""

from __future__ import annotations

from typing import Any

from gateways.slack.actions import MOVE_CALLBACK
from gateways.slack.details_modal import open_details
from gateways.slack.manual_issue import open_manual_issue, submit_manual_issue
from gateways.slack.move_modal import open_move, submit_move
from gateways.slack.option_buttons import show_options
from gateways.slack.silence_choice import silence_issue
from gateways.slack.surface_context import Surfaces, Tell
from gateways.slack.surface_requests import (
    Modal,
    OpenModal,
    ShowOptions,
    SilenceChosen,
    SurfaceRequest,
    ViewSubmitted,
)


async def handle_surface(
    surfaces: Surfaces, request: SurfaceRequest, refuse: Tell
) -> dict[str, Any] | None:
    """Act on the request; returns the acknowledgement payload, if any.

    `refuse` tells a user they may not, at most once a while (the gateway's rate limit).
    """
    if isinstance(request, OpenModal):
        if request.modal is Modal.MOVE:
            await open_move(surfaces, request, refuse)
        elif request.modal is Modal.DETAILS:
            await open_details(surfaces, request)
        else:
            await open_manual_issue(surfaces, request)
    elif isinstance(request, ViewSubmitted):
        if request.callback_id == MOVE_CALLBACK:
            return await submit_move(surfaces, request)
        return await submit_manual_issue(surfaces, request)
    elif isinstance(request, ShowOptions):
        await show_options(surfaces, request, refuse)
    elif isinstance(request, SilenceChosen):
        await silence_issue(surfaces, request, refuse)
    return None
