"""What a Slack request asks of alertfold: read from Slack's payloads, nothing done yet.

Reactions on an issue's message follow Slack Manager's defaults (`ReactionNames`), act
buttons carry the action ids of `actions.ISSUE_ACTS` with the issue id as value, and
`/alertfold` is the slash command. Anything else is not alertfold's business and is only
acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.interactions import Actor, InteractionKind
from gateways.slack.actions import ISSUE_ACTS
from gateways.slack.current_message import Clicked, clicked


@dataclass(frozen=True)
class ReactionNames:
    """Emoji names (without colons) that act on an issue; Slack Manager's by default."""

    resolve: str = "white_check_mark"
    investigate: str = "eyes"
    mute: str = "mask"
    terminate: str = "firecracker"

    def kind(self, reaction: str, added: bool) -> InteractionKind | None:
        pairs = {
            self.resolve: (InteractionKind.RESOLVED, InteractionKind.UNRESOLVED),
            self.investigate: (InteractionKind.INVESTIGATING, InteractionKind.NOT_INVESTIGATING),
            self.mute: (InteractionKind.MUTED, InteractionKind.UNMUTED),
            self.terminate: (InteractionKind.TERMINATED, None),
        }
        if reaction not in pairs:
            return None
        on_add, on_remove = pairs[reaction]
        return on_add if added else on_remove


@dataclass(frozen=True)
class IssueAct:
    """Someone asks for `kind` on the issue behind a message (`slack_ts`) or a button (id,
    used `where`)."""

    kind: InteractionKind
    channel_id: str
    actor: Actor
    interaction_id: str
    at: datetime
    slack_ts: str | None = None
    issue_id: str | None = None
    where: Clicked | None = None


@dataclass(frozen=True)
class SlashCommand:
    channel_id: str
    user_id: str
    text: str
    trigger_id: str = ""  # Slack's id of this one invocation


def read_request(
    request_type: str, payload: dict[str, Any], reactions: ReactionNames, now: datetime
) -> IssueAct | SlashCommand | None:
    """The act or command in one Slack request, or None when it is not for alertfold."""
    if request_type == "events_api":
        return _reaction(payload, reactions, now)
    if request_type == "interactive" and payload.get("type") == "block_actions":
        return _button(payload, now)
    if request_type == "slash_commands":
        return SlashCommand(
            channel_id=str(payload.get("channel_id", "")),
            user_id=str(payload.get("user_id", "")),
            text=str(payload.get("text", "")).strip(),
            trigger_id=str(payload.get("trigger_id") or ""),
        )
    return None


def _reaction(payload: dict[str, Any], reactions: ReactionNames, now: datetime) -> IssueAct | None:
    event = payload.get("event") or {}
    added = event.get("type") == "reaction_added"
    if not added and event.get("type") != "reaction_removed":
        return None
    item = event.get("item") or {}
    kind = reactions.kind(str(event.get("reaction", "")), added)
    if kind is None or item.get("type") != "message":
        return None
    user = str(event.get("user", ""))
    return IssueAct(
        kind=kind,
        channel_id=str(item.get("channel", "")),
        slack_ts=str(item.get("ts", "")),
        actor=Actor(kind="slack_user", id=user or "unknown"),
        # Slack retries carry the same event id: the fold folds it once.
        interaction_id=f"event/{payload.get('event_id') or event.get('event_ts')}",
        at=_slack_time(event.get("event_ts"), now),
    )


def _button(payload: dict[str, Any], now: datetime) -> IssueAct | None:
    actions = payload.get("actions") or []
    action = actions[0] if actions else {}
    kind = ISSUE_ACTS.get(str(action.get("action_id", "")))
    if kind is None:
        return None
    user = payload.get("user") or {}
    where = clicked(payload)
    action_ts = action.get("action_ts")
    return IssueAct(
        kind=kind,
        channel_id=where.channel_id,
        issue_id=str(action.get("value", "")),
        slack_ts=where.message_ts,
        where=where,
        actor=Actor(
            kind="slack_user",
            id=str(user.get("id") or "unknown"),
            name=str(user.get("name") or user.get("username") or ""),
        ),
        interaction_id=f"action/{user.get('id')}/{action_ts}",
        at=_slack_time(action_ts, now),
    )


def _slack_time(value: Any, fallback: datetime) -> datetime:
    """Slack's "1795426000.000100" timestamps, or the gateway's clock when absent."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        return fallback
