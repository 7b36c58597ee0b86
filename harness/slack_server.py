"""A local server that speaks the Slack Web API methods alertfold calls, the way Slack does.

Tests point the real `slack_sdk` clients at it (`base_url=server.url`). It answers
`auth.test`, checks the bot token (`not_authed`, `invalid_auth`) and the channel
(`channel_not_found`), posts, updates, deletes and reads messages and threads as Slack does,
refusing what Slack refuses (`slack_server_messages`, `slack_server_blocks`: Block Kit
limits, `msg_too_long`, `msg_blocks_too_long`, `cant_update_message`, `not_in_channel`),
opens modals and reads channels and user groups (`slack_server_surfaces`: `views.open`,
`views.update`, `conversations.info`, `usergroups.users.list`), and enforces rate limits
like Slack, per method and workspace and, for `chat.postMessage`, per channel: HTTP 429
with `Retry-After` (whole seconds) and `{"ok": false, "error": "ratelimited"}`. Limits are
configurable so tests stay fast.

Every call is recorded (method, channel, arrival time, answer, payload) and each channel keeps
its messages, so a test asserts on what a channel finally shows and on how fast it was
called. `on_call` runs in the server's thread after a call took effect and before it is
answered: a test can kill a client there, between Slack doing something and the client
learning about it; `drop_answers` closes the connection there instead of answering.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from harness.slack_server_messages import Messages
from harness.slack_server_surfaces import Surfaces
from harness.slack_server_workspace import (
    BOT_USER,
    RateLimited,
    SlackCall,
    SlackLimits,
    SlackMessage,
    Workspace,
)
from infra.local_kafka import free_port

BOT_TOKEN = "xoxb-alertfold-test"


class SlackError(Exception):
    """An answer Slack gives with HTTP 200 and `ok: false`."""


class SlackWebApiServer:
    def __init__(
        self,
        channels: set[str] | frozenset[str] = frozenset({"C0001"}),
        *,
        limits: SlackLimits | None = None,
        token: str = BOT_TOKEN,
    ) -> None:
        self.workspace = Workspace(set(channels), limits or SlackLimits())
        self.token = token
        self.port = free_port()
        self.on_call: Callable[[SlackCall], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
        }
        # Modals, channel membership and user groups (`slack_server_surfaces`).
        self.surfaces = Surfaces(self.workspace)
        self._handlers.update(self.surfaces.handlers())
        # Posting, updating, deleting and reading messages (`slack_server_messages`).
        self._handlers.update(Messages(self.workspace, self.surfaces.outside).handlers())
        self._drops: dict[str, int] = {}

    @property
    def url(self) -> str:
        """The `base_url` for slack_sdk clients (it ends with a slash, like Slack's)."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- what tests read -----------------------------------------------------------------

    def calls(self, method: str | None = None, channel: str | None = None) -> list[SlackCall]:
        with self.workspace.lock:
            return [
                c
                for c in self.workspace.calls
                if (method is None or c.method == method)
                and (channel is None or c.channel == channel)
            ]

    def messages(self, channel: str) -> list[SlackMessage]:
        """The channel's messages, newest first (not the replies in their threads)."""
        with self.workspace.lock:
            return list(self.workspace.history(channel))

    def replies(self, channel: str, ts: str) -> list[SlackMessage]:
        """The replies in the thread of the message `ts`, oldest first."""
        with self.workspace.lock:
            return self.workspace.thread(channel, ts)[1:]

    def say(self, channel: str, user: str, text: str) -> SlackMessage:
        """A message written by a person (not the bot), as if typed in the channel."""
        with self.workspace.lock:
            message = SlackMessage(
                self.workspace.next_ts(), text, blocks=[], attachments=[], metadata=None, user=user
            )
            self.workspace.channels[channel][message.ts] = message
            return message

    def reply(self, channel: str, ts: str, user: str, text: str) -> SlackMessage:
        """A person's reply in the thread of the message `ts`."""
        with self.workspace.lock:
            parent = self.workspace.channels[channel][ts]
            message = SlackMessage(
                self.workspace.next_ts(),
                text,
                blocks=[],
                attachments=[],
                metadata=None,
                user=user,
                thread_ts=parent.ts,
            )
            self.workspace.channels[channel][message.ts] = message
            parent.reply_count += 1
            return message

    def hold(self, method: str, channel: str | None, seconds: float) -> None:
        """Rate-limit `method` in `channel` (or everywhere) for `seconds`, whatever the rate."""
        with self.workspace.lock:
            self.workspace.hold(method, channel, seconds)

    def drop_answers(self, method: str, times: int = 1) -> None:
        """Let the next `times` calls of `method` take effect, then close their connection
        unanswered: the client cannot know whether the call did anything (a reset)."""
        with self.workspace.lock:
            self._drops[method] = self._drops.get(method, 0) + times

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="slack-stand-in", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Slack stand-in did not start")

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        loop.run_until_complete(site.start())
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    # -- HTTP ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        channel = args.get("channel") if isinstance(args.get("channel"), str) else None
        status, headers = 200, {}
        body: dict[str, Any] = {"ok": True}
        with self.workspace.lock:
            try:
                self._authenticate(request, args)
                handler = self._handlers.get(method)
                if handler is None:
                    raise SlackError("unknown_method")
                if channel is not None and channel not in self.workspace.channels:
                    raise SlackError("channel_not_found")
                self.workspace.admit(method, channel)
                body = handler(args)
            except SlackError as error:
                body = {"ok": False, "error": str(error)}
            except RateLimited as limited:
                status, headers = 429, {"Retry-After": str(limited.retry_after)}
                body = {"ok": False, "error": "ratelimited"}  # Slack's spelling
            dropped = bool(body.get("ok")) and self._drops.get(method, 0) > 0
            if dropped:
                self._drops[method] -= 1
            call = SlackCall(
                method=method,
                channel=channel,
                at=self.workspace.clock(),
                status=status,
                error=None if body.get("ok") else str(body.get("error")),
                payload={k: v for k, v in args.items() if k != "token"},
                answered=not dropped,
            )
            self.workspace.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        if dropped and request.transport is not None:
            request.transport.close()
        return web.json_response(body, status=status, headers=headers)

    def _authenticate(self, request: web.Request, args: dict[str, Any]) -> None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or str(args.get("token", ""))
        if not given:
            raise SlackError("not_authed")
        if given != self.token:
            raise SlackError("invalid_auth")

    # -- methods -------------------------------------------------------------------------

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://alertfold-test.slack.com/",
            "team": "alertfold tests",
            "user": "alertfold",
            "team_id": "T0001",
            "user_id": BOT_USER,
            "bot_id": "BALERTFOLD",
        }


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Query string, then a form or JSON body: slack_sdk uses all three."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        else:
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return args


@contextmanager
def running_slack_server(
    channels: set[str] | frozenset[str] = frozenset({"C0001"}),
    *,
    limits: SlackLimits | None = None,
) -> Iterator[SlackWebApiServer]:
    server = SlackWebApiServer(channels, limits=limits)
    server.start()
    try:
        yield server
    finally:
        server.stop()
