"""The Slack stand-in's modals, channel membership and user groups, answered as Slack does.

`views.open` needs a trigger id that Slack handed out with an interaction and that is still
fresh (3 s): a test asks `trigger()` for one and puts it in the payload it sends; an unknown
one is `invalid_trigger_id`, a stale one `expired_trigger_id`. A view must look like a modal
(`invalid_arguments` otherwise, with Slack's `response_metadata.messages`); every opened or
updated view is kept for assertions. `views.update` finds a view by `view_id` or
`external_id` (`not_found`) and honours `hash` (`hash_conflict`). `conversations.info` says
whether the bot is a member (`outside` lists the channels it is not in); `conversations.list`
lists every channel with its name (`names`, else the id in lower case) and `is_member`,
`limit` a page (Slack's default 100, at most 1000) with `next_cursor` paging
(`conversations.replies` is with the other message methods, in `slack_server_messages`).
`usergroups.users.list` answers a group's members or `no_such_subteam`.
Handlers answer bodies, errors included; the server does the rest (auth, rate limits, log).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.slack_server_workspace import Workspace

TRIGGER_SECONDS = 3.0
TITLE_MAX = 24
BLOCKS_MAX = 100
LIST_PAGE_DEFAULT = 100
LIST_PAGE_MAX = 1000


@dataclass
class OpenedView:
    id: str
    trigger_id: str
    view: dict[str, Any]
    hash: str
    external_id: str | None = None
    updates: int = 0

    def as_json(self) -> dict[str, Any]:
        return {**self.view, "id": self.id, "hash": self.hash, "external_id": self.external_id}


@dataclass
class Surfaces:
    workspace: Workspace
    user_groups: dict[str, list[str]] = field(default_factory=dict)
    outside: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    views: list[OpenedView] = field(default_factory=list)
    _triggers: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def trigger(self, valid_for: float = TRIGGER_SECONDS) -> str:
        """A trigger id as Slack puts in an interaction payload; good for `valid_for` s."""
        with self.workspace.lock:
            trigger_id = f"{next(self._ids)}.{int(self.workspace.clock() * 1000)}.trigger"
            self._triggers[trigger_id] = self.workspace.clock() + valid_for
            return trigger_id

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "views.open": self._open,
            "views.update": self._update,
            "conversations.info": self._info,
            "conversations.list": self._list,
            "usergroups.users.list": self._group_users,
        }

    def _open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = str(args.get("trigger_id") or "")
        expires = self._triggers.get(trigger_id)
        if expires is None:
            return _error("invalid_trigger_id")
        if expires < self.workspace.clock():
            return _error("expired_trigger_id")
        view = _as_view(args.get("view"))
        problems = _view_problems(view)
        if problems:
            return {**_error("invalid_arguments"), "response_metadata": {"messages": problems}}
        opened = OpenedView(
            id=f"V{next(self._ids):08d}",
            trigger_id=trigger_id,
            view=view,
            hash=f"h{next(self._ids)}",
            external_id=view.get("external_id"),
        )
        self.views.append(opened)
        return {"ok": True, "view": opened.as_json()}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("view_id") or None
        external = args.get("external_id") or None
        found = next(
            (v for v in self.views if v.id == wanted or (external and v.external_id == external)),
            None,
        )
        if found is None:
            return _error("not_found")
        if args.get("hash") and args["hash"] != found.hash:
            return _error("hash_conflict")
        view = _as_view(args.get("view"))
        problems = _view_problems(view)
        if problems:
            return {**_error("invalid_arguments"), "response_metadata": {"messages": problems}}
        found.view, found.hash = view, f"h{next(self._ids)}"
        found.updates += 1
        return {"ok": True, "view": found.as_json()}

    def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args["channel"])  # the server answered channel_not_found already
        return {"ok": True, "channel": self._channel(channel)}

    def _channel(self, channel: str) -> dict[str, Any]:
        return {
            "id": channel,
            "name": self.names.get(channel, channel.lower()),
            "is_channel": True,
            "is_archived": False,
            "is_member": channel not in self.outside,
        }

    def _list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every channel, by id, `limit` a page; the cursor is the next page's offset."""
        try:
            limit = int(args.get("limit") or LIST_PAGE_DEFAULT)
            start = int(args.get("cursor") or 0)
        except ValueError:
            return _error("invalid_cursor")
        limit = min(max(limit, 1), LIST_PAGE_MAX)
        channels = sorted(self.workspace.channels)
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return {
            "ok": True,
            "channels": [self._channel(c) for c in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _group_users(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self.user_groups.get(str(args.get("usergroup") or ""))
        if users is None:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(users)}


def _as_view(value: Any) -> dict[str, Any]:
    """A JSON body carries the view as an object, a form body as JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return dict(value) if isinstance(value, dict) else {}


def _view_problems(view: dict[str, Any]) -> list[str]:
    if not view:
        return ["[ERROR] missing required field: view"]
    problems = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be 'modal' [json-pointer:/view/type]")
    title = (view.get("title") or {}).get("text", "")
    if not title or len(title) > TITLE_MAX:
        problems.append(f"[ERROR] must be 1 to {TITLE_MAX} characters [json-pointer:/view/title]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > BLOCKS_MAX:
        problems.append(f"[ERROR] at most {BLOCKS_MAX} blocks [json-pointer:/view/blocks]")
    elif any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
        problems.append("[ERROR] a view with inputs needs submit [json-pointer:/view/submit]")
    return problems


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}
