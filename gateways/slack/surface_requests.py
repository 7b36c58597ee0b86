"""Requests that open a surface (modal, option buttons) or answer one: read, nothing done yet.

`socket_requests` reads the requests that become an interaction at once (reactions, plain
buttons, the slash command); these ones need a second step in Slack first. The Move… and
Details… buttons and message shortcuts, and the global "open an issue" shortcut, open a
modal (`OpenModal`, with Slack's trigger id, valid for 3 s); a submitted modal comes back as
`ViewSubmitted`, its inputs flattened to block id → value; the `information_source` reaction
asks for the option buttons (`ShowOptions`); the silence select picks a duration
(`SilenceChosen`). Anything else is None: someone else's business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from domain.interactions import Actor
from gateways.slack.actions import (
    DETAILS,
    DETAILS_CALLBACK,
    MOVE,
    MOVE_CALLBACK,
    OPEN_ISSUE_CALLBACK,
    SILENCE,
)
from gateways.slack.current_message import Clicked, clicked

INFO_REACTION = "information_source"


class Modal(StrEnum):
    MOVE = "move"
    DETAILS = "details"
    OPEN_ISSUE = "open_issue"


_MODAL_OF = {
    MOVE.id: Modal.MOVE,
    DETAILS.id: Modal.DETAILS,
    MOVE_CALLBACK: Modal.MOVE,
    DETAILS_CALLBACK: Modal.DETAILS,
    OPEN_ISSUE_CALLBACK: Modal.OPEN_ISSUE,
}


@dataclass(frozen=True)
class OpenModal:
    """Open `modal` for `user`; a shortcut names a message (`message_ts`), a button its issue
    (used `where`)."""

    modal: Modal
    trigger_id: str
    user: Actor
    channel_id: str = ""
    issue_id: str | None = None
    message_ts: str | None = None
    via_shortcut: bool = False
    where: Clicked | None = None


@dataclass(frozen=True)
class ViewSubmitted:
    callback_id: str
    view_id: str
    private_metadata: dict[str, Any]
    values: dict[str, str | None]
    user: Actor
    at: datetime


@dataclass(frozen=True)
class ShowOptions:
    channel_id: str
    message_ts: str
    user: Actor


@dataclass(frozen=True)
class SilenceChosen:
    issue_id: str
    seconds: int
    channel_id: str
    user: Actor
    at: datetime
    where: Clicked | None = None


SurfaceRequest = OpenModal | ViewSubmitted | ShowOptions | SilenceChosen


def read_surface_request(
    request_type: str, payload: dict[str, Any], now: datetime
) -> SurfaceRequest | None:
    if request_type == "events_api":
        return _info_reaction(payload)
    if request_type != "interactive":
        return None
    kind = payload.get("type")
    if kind == "block_actions":
        return _action(payload, now)
    if kind in ("message_action", "shortcut"):
        return _shortcut(payload)
    if kind == "view_submission":
        return _submission(payload, now)
    return None


def _info_reaction(payload: dict[str, Any]) -> ShowOptions | None:
    event = payload.get("event") or {}
    item = event.get("item") or {}
    if (
        event.get("type") != "reaction_added"
        or event.get("reaction") != INFO_REACTION
        or item.get("type") != "message"
    ):
        return None
    return ShowOptions(
        channel_id=str(item.get("channel", "")),
        message_ts=str(item.get("ts", "")),
        user=Actor(kind="slack_user", id=str(event.get("user") or "unknown")),
    )


def _action(payload: dict[str, Any], now: datetime) -> OpenModal | SilenceChosen | None:
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    action_id = str(action.get("action_id", ""))
    where = clicked(payload)
    if action_id == SILENCE.id:
        issue_id, _, seconds = str(
            (action.get("selected_option") or {}).get("value", "")
        ).rpartition("|")
        if not issue_id or not seconds.isdigit() or int(seconds) <= 0:
            return None
        return SilenceChosen(
            issue_id=issue_id,
            seconds=int(seconds),
            channel_id=where.channel_id,
            user=_user(payload),
            at=_slack_time(action.get("action_ts"), now),
            where=where,
        )
    modal = _MODAL_OF.get(action_id)
    if modal is None or not payload.get("trigger_id"):
        return None
    return OpenModal(
        modal=modal,
        trigger_id=str(payload["trigger_id"]),
        user=_user(payload),
        channel_id=where.channel_id,
        issue_id=str(action.get("value") or "") or None,
        message_ts=where.message_ts,
        where=where,
    )


def _shortcut(payload: dict[str, Any]) -> OpenModal | None:
    modal = _MODAL_OF.get(str(payload.get("callback_id", "")))
    global_shortcut = payload.get("type") == "shortcut"
    if modal is None or (modal is Modal.OPEN_ISSUE) != global_shortcut:
        return None
    if not payload.get("trigger_id"):
        return None
    message = payload.get("message") or {}
    return OpenModal(
        modal=modal,
        trigger_id=str(payload["trigger_id"]),
        user=_user(payload),
        channel_id=str((payload.get("channel") or {}).get("id") or ""),
        message_ts=str(message.get("ts") or payload.get("message_ts") or "") or None,
        via_shortcut=True,
    )


def _submission(payload: dict[str, Any], now: datetime) -> ViewSubmitted | None:
    view = payload.get("view") or {}
    callback_id = str(view.get("callback_id", ""))
    if callback_id not in (MOVE_CALLBACK, OPEN_ISSUE_CALLBACK):
        return None
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        metadata = {}
    return ViewSubmitted(
        callback_id=callback_id,
        view_id=str(view.get("id", "")),
        private_metadata=metadata if isinstance(metadata, dict) else {},
        values=view_values((view.get("state") or {}).get("values") or {}),
        user=_user(payload),
        at=now,
    )


def view_values(state: dict[str, Any]) -> dict[str, str | None]:
    """Slack's `view.state.values` (block id → action id → element state) as block id → value."""
    values: dict[str, str | None] = {}
    for block_id, elements in state.items():
        for element in (elements or {}).values() if isinstance(elements, dict) else ():
            values[str(block_id)] = _element_value(element if isinstance(element, dict) else {})
    return values


def _element_value(element: dict[str, Any]) -> str | None:
    for key in ("selected_conversation", "selected_channel", "value"):
        if element.get(key) is not None:
            return str(element[key])
    option = element.get("selected_option")
    if isinstance(option, dict) and option.get("value") is not None:
        return str(option["value"])
    return None


def _user(payload: dict[str, Any]) -> Actor:
    user = payload.get("user") or {}
    return Actor(
        kind="slack_user",
        id=str(user.get("id") or "unknown"),
        name=str(user.get("name") or user.get("username") or ""),
    )


def _slack_time(value: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        return fallback
