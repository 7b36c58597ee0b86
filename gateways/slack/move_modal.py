"""Moving an issue to another channel by hand: the Move… button, the message shortcut, a modal.

The modal asks for the target channel and a reason; its submission is checked again (the view
may have changed while it was open) and becomes a `moved` interaction on the issue's current
channel, whose owner folds the move (the issue leaves, arrives in the target, later alerts
with its correlation id follow it). Slack Manager's rules: the message shortcut is for global
admins (the button for the channel's admins), archived issues stay where they are, and an
issue whose alert carries escalation rules moves only by its escalation, not by hand.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from domain.interactions import Interaction, InteractionKind
from gateways.slack.actions import MOVE_CALLBACK
from gateways.slack.current_message import NOT_ITS_MESSAGE
from gateways.slack.permissions import NotAllowed
from gateways.slack.ports import Issue
from gateways.slack.surface_context import Surfaces, Tell
from gateways.slack.surface_requests import OpenModal, ViewSubmitted
from wire.interactions import encode_interaction

log = logging.getLogger("alertfold.slack.move")

TARGET_BLOCK = "target"
REASON_BLOCK = "reason"
REASON_MAX = 3000
SHORTCUT_REFUSAL = "Only global alertfold admins may move issues with the shortcut."


def move_refusal(issue: Issue | None) -> str:
    """Why this issue cannot be moved by hand at all ("" when it can)."""
    if issue is None:
        return "That message is not an alertfold issue, or the issue is gone."
    if issue.get("status") == "archived":
        return "This issue is archived; archived issues are not moved."
    if (issue.get("last_alert") or {}).get("escalation"):
        return "This issue has escalation rules; it moves only as its escalation says."
    return ""


def target_problem(issue: Issue, target: str | None, bot_is_member: bool | None) -> str:
    """Why the issue cannot go to `target` ("" when it can)."""
    if not target:
        return "Choose a channel."
    if target == issue.get("channel_id"):
        return "The issue is in that channel already."
    if bot_is_member is None:
        return "alertfold cannot see that channel."
    if not bot_is_member:
        return f"Invite alertfold to <#{target}> first; it can only post where it is a member."
    return ""


def move_view(issue: Issue, *, via_shortcut: bool) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": MOVE_CALLBACK,
        "private_metadata": json.dumps({"issue_id": issue["id"], "via_shortcut": via_shortcut}),
        "title": {"type": "plain_text", "text": "Move issue"},
        "submit": {"type": "plain_text", "text": "Move"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{_short(str(issue.get('header') or issue['id']), 200)}*\n"
                    f"now in <#{issue['channel_id']}>",
                },
            },
            {
                "type": "input",
                "block_id": TARGET_BLOCK,
                "label": {"type": "plain_text", "text": "Move to"},
                "element": {
                    "type": "conversations_select",
                    "action_id": "channel",
                    "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason",
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ],
    }


async def open_move(surfaces: Surfaces, request: OpenModal, refuse: Tell) -> None:
    """Open the modal, or tell the user (once, for refusals) why not."""
    issue = await surfaces.issue(request.issue_id, request.channel_id, request.message_ts)
    user = request.user.id
    problem = move_refusal(issue)
    if issue is None or problem:
        await surfaces.tell(request.channel_id, user, problem)
        return
    if request.where is not None and not await surfaces.shows(issue, request.where):
        await surfaces.tell(request.channel_id, user, NOT_ITS_MESSAGE)
        return
    try:
        await _check_may_move(surfaces, issue, user, via_shortcut=request.via_shortcut)
    except NotAllowed as refusal:
        await refuse(request.channel_id, user, str(refusal))
        return
    await surfaces.open_view(
        request.trigger_id, move_view(issue, via_shortcut=request.via_shortcut)
    )


async def submit_move(surfaces: Surfaces, submitted: ViewSubmitted) -> dict[str, Any] | None:
    """Publish the move, or answer the modal with what is wrong (it stays open)."""
    issue = await surfaces.issue(str(submitted.private_metadata.get("issue_id") or ""))
    problem = move_refusal(issue)
    if issue is None or problem:
        return _errors(TARGET_BLOCK, problem)
    via_shortcut = bool(submitted.private_metadata.get("via_shortcut"))
    try:
        await _check_may_move(surfaces, issue, submitted.user.id, via_shortcut=via_shortcut)
    except NotAllowed as refusal:
        return _errors(TARGET_BLOCK, str(refusal))
    target = submitted.values.get(TARGET_BLOCK)
    member = await surfaces.bot_is_member(target) if target else None
    problem = target_problem(issue, target, member)
    if problem or not target:
        return _errors(TARGET_BLOCK, problem)
    interaction = Interaction(
        interaction_id=f"view/{submitted.view_id}",
        kind=InteractionKind.MOVED,
        channel_id=issue["channel_id"],
        correlation_id=issue["correlation_id"],
        issue_id=issue["id"],
        at=submitted.at,
        actor=submitted.user,
        target_channel_id=target,
        reason=(submitted.values.get(REASON_BLOCK) or "")[:REASON_MAX],
    )
    await surfaces.interactions.publish([(interaction.channel_id, encode_interaction(interaction))])
    log.info("move of issue %s to %s by %s", issue["id"], target, submitted.user.id)
    return None


async def _check_may_move(
    surfaces: Surfaces, issue: Issue, user: str, *, via_shortcut: bool
) -> None:
    if via_shortcut:
        if not await surfaces.admins.is_global_admin(user):
            raise NotAllowed(SHORTCUT_REFUSAL)
        return
    await surfaces.admins.check_may(user, issue["channel_id"], InteractionKind.MOVED)


def _errors(block_id: str, text: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {block_id: text}}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
