"""The Slack stand-in's messages, answered as Slack does: posting, updating, deleting, reading.

`chat.postMessage` and `chat.update` take form, query or JSON bodies (blocks, attachments
and metadata as JSON text or as objects), refuse what Slack refuses (`slack_server_blocks`)
and keep the bot's name and icon when the message sets them (`username`, `icon_emoji`;
`missing_scope` without the `chat:write.customize` scope); a post with `thread_ts` is a reply
in that message's thread (`invalid_thread_ts` when there is no such message). A bot changes
and deletes only its own messages (`cant_update_message`, `cant_delete_message`); a message
not there is `message_not_found`; a channel the bot is not in (`outside`) is
`not_in_channel` for every one of these methods. `conversations.history` lists a channel's
messages newest first without thread replies (a parent carries `reply_count`), with metadata
only when asked (`include_all_metadata`), paged by `cursor`; `conversations.replies` lists
one thread oldest first, parent included, or `thread_not_found`.

Handlers answer bodies, errors included; the server does the rest (auth, channel, rate
limits, the call log).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.slack_server_blocks import refusal
from harness.slack_server_workspace import BOT_USER, SlackMessage, Workspace

HISTORY_PAGE_MAX = 999

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Refused(Exception):
    """An argument Slack rejects before looking at anything else (its error code)."""


@dataclass
class Messages:
    workspace: Workspace
    outside: set[str]  # channels the bot is not a member of (shared with `Surfaces`)

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
        }
        return {method: self._answering(handler) for method, handler in handlers.items()}

    def _answering(self, handler: Handler) -> Handler:
        def answer(args: dict[str, Any]) -> dict[str, Any]:
            if args.get("channel") in self.outside:
                return _error("not_in_channel")
            try:
                return handler(args)
            except Refused as refused:
                return _error(str(refused))

        return answer

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel")
        args = _decoded(args)
        refused = refusal(args, self.workspace.limits.blocks_text_max)
        if refused is not None:
            return refused
        customised = args.get("username") or args.get("icon_emoji")
        if customised and "chat:write.customize" not in self.workspace.scopes:
            return {**_error("missing_scope"), "needed": "chat:write.customize"}
        message = SlackMessage(
            ts=self.workspace.next_ts(),
            text=str(args.get("text", "")),
            blocks=args["blocks"],
            attachments=args["attachments"],
            metadata=args["metadata"],
            username=str(args.get("username") or ""),
            icon_emoji=str(args.get("icon_emoji") or ""),
        )
        if not (message.text or message.blocks or message.attachments):
            return _error("no_text")
        if args.get("thread_ts"):
            parent = self.workspace.channels[channel].get(str(args["thread_ts"]))
            if parent is None:
                return _error("invalid_thread_ts")
            message.thread_ts = parent.thread_ts or parent.ts
            self.workspace.channels[channel][message.thread_ts].reply_count += 1
        self.workspace.channels[channel][message.ts] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": message.as_json(with_metadata=True),
        }

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel")
        message = self.workspace.channels[channel].get(_required(args, "ts"))
        if message is None:
            return _error("message_not_found")
        if message.user != BOT_USER:
            return _error("cant_update_message")
        decoded = _decoded(args)
        refused = refusal(decoded, self.workspace.limits.blocks_text_max)
        if refused is not None:
            return refused
        if "text" in args:
            message.text = str(args["text"])
        if "blocks" in args:
            message.blocks = decoded["blocks"]
        if "attachments" in args:
            message.attachments = decoded["attachments"]
        if decoded["metadata"] is not None:
            message.metadata = decoded["metadata"]
        message.edited += 1
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_json(with_metadata=True),
        }

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel")
        ts = _required(args, "ts")
        message = self.workspace.channels[channel].get(ts)
        if message is None:
            return _error("message_not_found")
        if message.user != BOT_USER:
            return _error("cant_delete_message")  # a bot token deletes only its own
        del self.workspace.channels[channel][ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `limit` per page (Slack's default 100), paged by `cursor`."""
        channel = _required(args, "channel")
        return _page(self.workspace.history(channel), args)

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _required(args, "channel")
        message = self.workspace.channels[channel].get(_required(args, "ts"))
        if message is None:
            return _error("thread_not_found")
        return _page(self.workspace.thread(channel, message.thread_ts or message.ts), args)


def _page(messages: list[SlackMessage], args: dict[str, Any]) -> dict[str, Any]:
    limit = min(max(int(args.get("limit") or 100), 1), HISTORY_PAGE_MAX)
    start = int(args.get("cursor") or 0)
    with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
    page = messages[start : start + limit]
    more = start + limit < len(messages)
    return {
        "ok": True,
        "messages": [m.as_json(with_metadata=with_metadata) for m in page],
        "has_more": more,
        "pin_count": 0,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def _decoded(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments with blocks, attachments and metadata decoded (form bodies send JSON
    text, JSON bodies objects)."""
    return {
        **args,
        "blocks": _json_list(args.get("blocks")),
        "attachments": _json_list(args.get("attachments")),
        "metadata": _metadata(args.get("metadata")),
    }


def _required(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(f"{name}_not_specified" if name != "channel" else "channel_not_found")
    return value


def _json_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Refused("invalid_blocks_format") from None
    if not isinstance(value, list):
        raise Refused("invalid_blocks_format")
    return value


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Refused("invalid_metadata_format") from None
    if not isinstance(value, dict) or not isinstance(value.get("event_type"), str):
        raise Refused("invalid_metadata_format")
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}
