"""The `information_source` reaction: option buttons, shown only to the admin who reacted.

They come as an ephemeral message (Move…, Details…, a silence menu), which Slack shows to
that user alone and drops by itself when the client reloads; removing the reaction needs no
answer, since there is nothing shared to take back. The buttons carry the same action ids as
the issue message's own, so their clicks are handled the same way; their block id names the
issue, which is how a click on them is known to come from that issue's options.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from domain.silences import DEFAULT_SILENCE_DURATIONS
from gateways.slack.actions import DETAILS, MOVE, button, silence_menu
from gateways.slack.current_message import options_block_id
from gateways.slack.mrkdwn import escaped
from gateways.slack.ports import Issue
from gateways.slack.surface_context import Surfaces, Tell
from gateways.slack.surface_requests import ShowOptions

log = logging.getLogger("alertfold.slack.options")

OPTIONS_REFUSAL = "Only alertfold admins of this channel get the option buttons here."


def option_blocks(
    issue: Issue, silence_durations: Sequence[timedelta] = DEFAULT_SILENCE_DURATIONS
) -> list[dict[str, Any]]:
    """Move… only while the issue is open (Slack Manager does not move resolved issues)."""
    elements: list[dict[str, Any]] = []
    if issue.get("status") == "open":
        elements.append(button(MOVE, issue["id"]))
    elements.append(button(DETAILS, issue["id"]))
    if not issue.get("silenced_until"):
        elements.append(silence_menu(issue["id"], silence_durations))
    header = escaped(str(issue.get("header") or issue["id"])[:200])
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Options for *{header}*"}},
        {"type": "actions", "block_id": options_block_id(issue["id"]), "elements": elements},
    ]


async def show_options(surfaces: Surfaces, request: ShowOptions, refuse: Tell) -> None:
    issue = await surfaces.message_issue(request.channel_id, request.message_ts)
    if issue is None or issue.get("status") == "archived":
        return  # a reaction on some other message: not ours
    if not await surfaces.admins.is_admin(request.user.id, request.channel_id):
        await refuse(request.channel_id, request.user.id, OPTIONS_REFUSAL)
        return
    try:
        await surfaces.slack.chat_postEphemeral(
            channel=request.channel_id,
            user=request.user.id,
            text="Options for this issue",
            blocks=option_blocks(issue, surfaces.silence_durations),
        )
    except SlackApiError as error:
        log.warning("option buttons for %s: %s", request.user.id, error.response.get("error"))
