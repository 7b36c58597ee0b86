"""Every control alertfold puts in Slack, in one place: its action id, its label, what it does.

A button's id is a contract between what is rendered and what is read back, so both sides
take it from here: the message and option buttons render with `button`, the requests are
read by `ISSUE_ACTS` (a plain act on the issue, folded as that `InteractionKind`) or the id
of a surface (a modal, the silence menu, a webhook). A new act button is one `Action` here
and its place in the message; the gateway reads it from then on. The modals' callback ids
and the manifest's shortcuts are listed here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.interactions import InteractionKind
from domain.silences import DEFAULT_SILENCE_DURATIONS


@dataclass(frozen=True)
class Action:
    id: str
    label: str
    kind: InteractionKind | None = None  # None: opens a surface rather than acting at once


ACKNOWLEDGE = Action("alertfold:acknowledge", "Acknowledge", InteractionKind.ACKNOWLEDGED)
UNACKNOWLEDGE = Action("alertfold:unacknowledge", "Unacknowledge", InteractionKind.UNACKNOWLEDGED)
RESOLVE = Action("alertfold:resolve", "Resolve", InteractionKind.RESOLVED)
UNRESOLVE = Action("alertfold:unresolve", "Reopen", InteractionKind.UNRESOLVED)
INVESTIGATE = Action("alertfold:investigate", "Investigating", InteractionKind.INVESTIGATING)
MUTE = Action("alertfold:mute", "Mute", InteractionKind.MUTED)
UNMUTE = Action("alertfold:unmute", "Unmute", InteractionKind.UNMUTED)
TERMINATE = Action("alertfold:terminate", "Terminate", InteractionKind.TERMINATED)
MOVE = Action("alertfold:move", "Move…")
DETAILS = Action("alertfold:details", "Details…")
SILENCE = Action("alertfold:silence", "Silence…")
WEBHOOK_PREFIX = "alertfold:webhook:"  # then the webhook's id

# The silence menu's choices: label, seconds.
SILENCE_CHOICES: tuple[tuple[str, int], ...] = (
    ("30 min", 1800),
    ("1 h", 3600),
    ("4 h", 14400),
    ("24 h", 86400),
)

# The act buttons, by action id: read back as an interaction of that kind.
ISSUE_ACTS: dict[str, InteractionKind] = {
    action.id: action.kind
    for action in (
        ACKNOWLEDGE,
        UNACKNOWLEDGE,
        RESOLVE,
        UNRESOLVE,
        INVESTIGATE,
        MUTE,
        UNMUTE,
        TERMINATE,
    )
    if action.kind is not None
}

# Modal callback ids; the message shortcuts (manifest) share the modals' ids.
MOVE_CALLBACK = "alertfold_move"
DETAILS_CALLBACK = "alertfold_details"
OPEN_ISSUE_CALLBACK = "alertfold_open_issue"


def button(action: Action, value: str, style: str | None = None) -> dict[str, Any]:
    """The Block Kit button for `action`, its value naming the issue."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": action.label, "emoji": True},
        "action_id": action.id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def webhook_action(webhook_id: str, label: str) -> Action:
    """One of the alert's own webhook buttons, read back by `webhook_clicks`."""
    return Action(f"{WEBHOOK_PREFIX}{webhook_id}", label)


def silence_menu(
    issue_id: str, durations: Sequence[timedelta] = DEFAULT_SILENCE_DURATIONS
) -> dict[str, Any]:
    """The Silence… menu offering `durations` (ALERTFOLD_SILENCE_DURATIONS), each once; an
    option's value carries the issue and the seconds, so a click needs no lookup."""
    seconds = dict.fromkeys(int(duration.total_seconds()) for duration in durations)
    return {
        "type": "static_select",
        "action_id": SILENCE.id,
        "placeholder": {"type": "plain_text", "text": SILENCE.label, "emoji": True},
        "options": [
            {
                "text": {"type": "plain_text", "text": duration_label(s), "emoji": True},
                "value": f"{issue_id}|{s}",
            }
            for s in seconds
        ],
    }


def duration_label(seconds: int) -> str:
    """How a menu names a duration: `30 min`, `1 h 30 min`, `24 h`, `3 days`."""
    days, in_day = divmod(seconds, 86_400)
    if days >= 2 and not in_day:
        return f"{days} days"
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    parts = ((hours, "h"), (minutes, "min"), (rest, "s"))
    return " ".join(f"{count} {unit}" for count, unit in parts if count)
