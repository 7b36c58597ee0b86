"""The message an issue leaves behind when it must be shown anew elsewhere but people replied.

An escalation posts the issue again (so its mentions notify) and a move posts it in another
channel; the old message is deleted then. When people answered it in its thread, deleting
it would orphan their conversation, so it stays, marked (Slack Manager's way): grey, the
header kept, one line saying where the issue went on, no buttons. Its metadata names the
issue under another event type, so a restarted presenter never takes it for the issue's
message, and a click or reaction on it does not act on the issue.
"""

from __future__ import annotations

from typing import Any, Literal

from domain.issue_state import IssueSnapshot
from gateways.slack.blocks import CLOSED_COLOUR, RenderedMessage, header_block
from gateways.slack.rendering import message_summary

LEFT_BEHIND_EVENT_TYPE = "alertfold_issue_left_behind"

Reason = Literal["escalated", "moved"]


def render_left_behind(issue: IssueSnapshot, reason: Reason) -> RenderedMessage:
    """What the old message becomes; `issue` is the state that replaced it."""
    if reason == "moved":
        note = f":arrow_right: Moved to <#{issue.channel_id}>: the issue goes on there."
    else:
        note = ":rotating_light: Escalated: the issue goes on in a newer message below."
    note += " This thread stays here."
    blocks: list[dict[str, Any]] = [
        header_block(issue),
        {"type": "section", "text": {"type": "mrkdwn", "text": note}},
    ]
    return RenderedMessage(
        text=f"{message_summary(issue)}: {reason}",
        blocks=blocks,
        colour=CLOSED_COLOUR,
        metadata={
            "event_type": LEFT_BEHIND_EVENT_TYPE,
            "event_payload": {"issue_id": issue.id, "reason": reason},
        },
    )
