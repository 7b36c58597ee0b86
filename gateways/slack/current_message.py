"""Which issue a Slack message shows, and whether a clicked message is still the issue's own.

The lookup view knows an issue's message ts only after the post went round (presenter →
`interactions` → fold → projector, about a second), and keeps only the current one. So a
reaction on a message the view does not know yet is not dropped: the message's own
metadata, which only alertfold writes, names its issue (`conversations.replies` with
`include_all_metadata`). A message is the issue's current one when it is in the issue's
channel and is the ts the view knows, or newer than that ts and named by its metadata; an
older one was left behind by a re-post, one in another channel by a move, and acting on it
would act where the issue no longer is. Buttons name their issue in their value, so their
message is checked the same way; the ephemeral option buttons (only alertfold posts them)
name theirs in their block id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateways.slack.blocks import issue_id_of
from gateways.slack.ports import Issue, IssueReader

log = logging.getLogger("alertfold.slack.messages")

OPTIONS_BLOCK_PREFIX = "alertfold:options:"
NOT_ITS_MESSAGE = (
    "This is not the issue's current message (it moved or was posted again); "
    "use the buttons on its current message."
)
# Answers that will not change for the same message: remember them.
_SETTLED_ERRORS = frozenset({"thread_not_found", "message_not_found", "not_in_channel"})


class IssueNotInViewYet(Exception):
    """The message names an issue the view does not hold yet: decide when it does."""


class MessageMetadata(Protocol):
    async def issue_named_by(self, channel_id: str, ts: str) -> str | None: ...


@dataclass(frozen=True)
class Clicked:
    """Where a button or menu was used: the message (ts) in a channel, maybe ephemeral."""

    channel_id: str
    message_ts: str | None = None
    ephemeral: bool = False
    block_id: str = ""


def clicked(payload: dict[str, Any]) -> Clicked:
    """The message a `block_actions` payload comes from."""
    container = payload.get("container") or {}
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id") or ""
    return Clicked(
        channel_id=str(channel),
        message_ts=str(container["message_ts"]) if container.get("message_ts") else None,
        ephemeral=bool(container.get("is_ephemeral")),
        block_id=str(action.get("block_id") or ""),
    )


def options_block_id(issue_id: str) -> str:
    return f"{OPTIONS_BLOCK_PREFIX}{issue_id}"


class SlackMessageMetadata:
    """The issue id in a message's metadata, asked of Slack once per message."""

    def __init__(self, web_client: AsyncWebClient, remembered: int = 2048) -> None:
        self._client = web_client
        self._remembered = remembered
        self._known: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    async def issue_named_by(self, channel_id: str, ts: str) -> str | None:
        key = (channel_id, ts)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        try:
            response = await self._client.conversations_replies(
                channel=channel_id, ts=ts, limit=1, include_all_metadata=True
            )
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            log.info("conversations.replies %s %s: %s", channel_id, ts, code)
            if code in _SETTLED_ERRORS:
                self._remember(key, None)
            return None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            log.warning("conversations.replies %s %s: %r", channel_id, ts, error)
            return None
        message = next((m for m in response.get("messages") or [] if str(m.get("ts")) == ts), None)
        issue_id = issue_id_of(message.get("metadata")) if message else None
        self._remember(key, issue_id)
        return issue_id

    def _remember(self, key: tuple[str, str], issue_id: str | None) -> None:
        self._known[key] = issue_id
        while len(self._known) > self._remembered:
            self._known.popitem(last=False)


class IssueMessages:
    """The view, and the messages' metadata where the view has not caught up."""

    def __init__(self, finder: IssueReader, metadata: MessageMetadata | None = None) -> None:
        self._finder = finder
        self._metadata = metadata

    async def issue_of(self, channel_id: str, ts: str) -> Issue | None:
        """The issue whose current message this is (a reaction's); None: not an issue's.

        Raises `IssueNotInViewYet` when the message names an issue the view lacks.
        """
        issue = await asyncio.to_thread(self._finder.issue_by_slack_ts, channel_id, ts)
        if issue is not None or self._metadata is None:
            return issue
        issue_id = await self._metadata.issue_named_by(channel_id, ts)
        if issue_id is None:
            return None
        issue = await asyncio.to_thread(self._finder.get_issue, issue_id)
        if issue is None:
            raise IssueNotInViewYet(issue_id)
        if issue.get("channel_id") != channel_id or _older(ts, issue.get("slack_ts")):
            return None
        log.info("message %s in %s is issue %s's, ahead of the view", ts, channel_id, issue_id)
        return issue

    async def shows(self, issue: Issue, where: Clicked) -> bool:
        """Whether a button used `where` may act on `issue` (its value named the issue)."""
        if where.channel_id != issue.get("channel_id"):
            return False
        if where.ephemeral:
            return where.block_id == options_block_id(str(issue["id"]))
        ts = where.message_ts
        if not ts:
            return False
        if ts == issue.get("slack_ts"):
            return True
        if _older(ts, issue.get("slack_ts")) or self._metadata is None:
            return False
        return await self._metadata.issue_named_by(where.channel_id, ts) == str(issue["id"])


def _older(ts: str, known: Any) -> bool:
    """Whether message `ts` is older than the issue's known message (Slack's ts order)."""
    if not known:
        return False
    try:
        return float(ts) < float(known)
    except ValueError:
        return True
