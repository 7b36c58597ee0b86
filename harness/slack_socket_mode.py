"""A local Slack Socket Mode endpoint, for the real `slack_sdk` Socket Mode client.

`apps.connections.open` (app token required) answers a single-use `ws://` URL; the socket
says `hello`, then carries the envelopes a test sends (`events_api`, `interactive`,
`slash_commands`; `interactive` with `block_actions`, `shortcut`, `message_action` or
`view_submission` payloads) and records the acknowledgements that come back, with their
response payload (a slash command's reply, a modal's `response_action`). `disconnect()` sends
Slack's `{"type": "disconnect", "reason": "refresh_requested"}` and closes the socket, as
Slack does before it drops a connection. Like Slack, it gives each delivery `ack_deadline`
(3 s) to be acknowledged: an Events API envelope that was not is delivered again, with
`retry_attempt` counting up and `retry_reason` "timeout", up to 3 retries; an interactive
envelope or slash command is never delivered again and is reported in `failed`, and an
acknowledgement that comes later is only kept in `late_acks`. An envelope sent while no socket
is open is delivered when the next one opens.

An app may hold several connections at once (Slack allows ten), one per process that runs
it, and Slack spreads the envelopes over them. So does the stand-in, in turn; a retry goes to
the next connection in turn other than the one that let it time out, whenever another is
open, so a stalled or dead process's events reach a live one. `delivered_to` says which
connection (numbered as opened) each delivery went to; an acknowledgement is taken from any,
and `answered` says whether every delivery of an envelope has been acknowledged, late or not.
`chat.postEphemeral` is answered and recorded, since the gateway explains refusals that way.
Every other Web API method goes to `web_api` (a `SlackWebApiServer`) when one is given, so a
client with one `base_url` finds modals, channels and user groups as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from harness.slack_server import SlackWebApiServer
from infra.local_kafka import free_port

APP_TOKEN = "xapp-1-A0TEST-1-secret"
ACK_DEADLINE = 3.0
EVENT_RETRIES = 3


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    attempts: int = 0
    in_flight: bool = False  # sent, its deadline not passed yet
    sent_at: float = 0.0
    connections: list[int] = field(default_factory=list)  # where each delivery went

    def message(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.type == "slash_commands"
            or self.payload.get("type") == "view_submission",
        }
        if self.attempts:
            body["retry_attempt"] = self.attempts
            body["retry_reason"] = "timeout"
        return body


@dataclass
class SocketModeStandIn:
    port: int
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    connections_opened: int = 0
    web_api: SlackWebApiServer | None = None
    ack_deadline: float = ACK_DEADLINE
    failed: dict[str, str] = field(default_factory=dict)
    late_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    ack_seconds: dict[str, float] = field(default_factory=dict)
    ack_counts: dict[str, int] = field(default_factory=dict)  # in time or late

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._sockets: dict[int, web.WebSocketResponse] = {}  # the open ones, by number
        self._turns = itertools.count()
        self._pending: dict[str, Envelope] = {}
        self._sent: dict[str, Envelope] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The Web API base URL to give `AsyncWebClient(base_url=…)`."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- what tests do ------------------------------------------------------------------

    def send(self, envelope_type: str, payload: dict[str, Any]) -> str:
        envelope = Envelope(f"env-{next(self._ids)}", envelope_type, payload)
        with self._lock:
            self._pending[envelope.envelope_id] = envelope
            self._sent[envelope.envelope_id] = envelope
        asyncio.run_coroutine_threadsafe(self._deliver(envelope), self._loop).result(10)
        return envelope.envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if envelope_id in self.acks:
                    return self.acks[envelope_id]
                if envelope_id in self.failed:
                    raise AssertionError(f"{envelope_id}: {self.failed[envelope_id]}")
            time.sleep(0.02)
        raise AssertionError(f"{envelope_id} was not acknowledged within {timeout} s")

    def deliveries(self, envelope_id: str) -> int:
        """How many times the envelope went out (Slack's retries included)."""
        with self._lock:
            return self._sent[envelope_id].attempts

    def delivered_to(self, envelope_id: str) -> list[int]:
        """The connection each delivery of the envelope went to, in order."""
        with self._lock:
            return list(self._sent[envelope_id].connections)

    def answered(self, envelope_id: str) -> bool:
        """Whether each delivery of the envelope has been acknowledged, in time or late."""
        with self._lock:
            sent = self._sent[envelope_id].attempts
            return self.ack_counts.get(envelope_id, 0) >= sent > 0

    @property
    def open_connections(self) -> list[int]:
        return sorted(n for n, socket in list(self._sockets.items()) if not socket.closed)

    def wait_for_connection(self, count: int = 1, at_once: int = 1, timeout: float = 30) -> None:
        """Until `count` connections were opened in all and `at_once` of them are open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connections_opened >= count and len(self.open_connections) >= at_once:
                return
            time.sleep(0.02)
        raise AssertionError(
            f"no Socket Mode connection #{count} ({at_once} open at once) within {timeout} s"
        )

    def disconnect(self, reason: str = "refresh_requested", connection: int | None = None) -> None:
        """Drop `connection`, or every open one, as Slack does when it asks for a refresh."""
        asyncio.run_coroutine_threadsafe(self._disconnect(reason, connection), self._loop).result(
            10
        )

    # -- the server -----------------------------------------------------------------------

    async def _deliver(self, envelope: Envelope) -> None:
        chosen = self._connection_for(envelope)
        if chosen is None:
            return  # delivered when the next connection opens
        number, socket = chosen
        message = envelope.message()
        envelope.attempts += 1
        envelope.in_flight = True
        envelope.sent_at = self._loop.time()
        envelope.connections.append(number)
        self._loop.call_later(self.ack_deadline, self._deadline, envelope, envelope.attempts)
        # A connection going away loses the delivery; its deadline says what happens next.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await socket.send_json(message)

    def _connection_for(self, envelope: Envelope) -> tuple[int, web.WebSocketResponse] | None:
        """The next open connection in turn; for a retry, not the one that missed it."""
        open_ = [(n, s) for n, s in self._sockets.items() if not s.closed]
        missed = envelope.connections[-1] if envelope.connections else None
        candidates = [(n, s) for n, s in open_ if n != missed] or open_
        if not candidates:
            return None
        return candidates[next(self._turns) % len(candidates)]

    def _deadline(self, envelope: Envelope, attempt: int) -> None:
        """Slack's 3 s: an event is sent again, anything else is given up on."""
        with self._lock:
            if envelope.envelope_id in self.acks or envelope.attempts != attempt:
                return
            envelope.in_flight = False
            if envelope.type == "events_api" and envelope.attempts <= EVENT_RETRIES:
                self._loop.create_task(self._deliver(envelope))
                return
            self._pending.pop(envelope.envelope_id, None)
            self.failed[envelope.envelope_id] = (
                f"not acknowledged within {self.ack_deadline:g} s "
                f"({envelope.attempts} deliveries); Slack gave up on it"
            )

    async def _disconnect(self, reason: str, connection: int | None) -> None:
        for number in self.open_connections:
            if connection in (None, number):
                socket = self._sockets.pop(number)
                await socket.send_json({"type": "disconnect", "reason": reason})
                await socket.close()

    async def _open(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.connections_opened += 1
        url = f"ws://127.0.0.1:{self.port}/link/{self.connections_opened}"
        return web.json_response({"ok": True, "url": url})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        number = int(request.match_info["n"])
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets[number] = socket
        try:
            await socket.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self.open_connections),
                    "connection_info": {"app_id": "A0TEST"},
                    "debug_info": {"host": "stand-in", "approximate_connection_time": 3600},
                }
            )
            with self._lock:
                waiting = [e for e in self._pending.values() if not e.in_flight]
            for envelope in waiting:
                await self._deliver(envelope)
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._record_ack(json.loads(message.data))
        finally:
            if self._sockets.get(number) is socket:
                del self._sockets[number]
        return socket

    def _record_ack(self, body: dict[str, Any]) -> None:
        envelope_id = str(body.get("envelope_id") or "")
        if not envelope_id:
            return
        with self._lock:
            self.ack_counts[envelope_id] = self.ack_counts.get(envelope_id, 0) + 1
            if envelope_id in self.failed:
                self.late_acks[envelope_id] = body
                return
            envelope = self._pending.pop(envelope_id, None)
            if envelope is not None:
                self.ack_seconds[envelope_id] = self._loop.time() - envelope.sent_at
            self.acks[envelope_id] = body

    async def _ephemeral(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.content_type != "application/json" else {}
        if request.content_type == "application/json":
            form = await request.json()
        self.ephemerals.append(
            {k: v if isinstance(v, list | dict) else str(v) for k, v in form.items()}
        )
        return web.json_response({"ok": True, "message_ts": "1795426000.000900"})

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_post("/api/chat.postEphemeral", self._ephemeral)
        app.router.add_get("/link/{n}", self._link)
        app.router.add_route("*", "/api/{method}", self._forward)
        return app

    async def _forward(self, request: web.Request) -> web.Response:
        if self.web_api is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        headers = {
            k: v for k, v in request.headers.items() if k in ("Authorization", "Content-Type")
        }
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                self.web_api.url + request.match_info["method"],
                params=request.query,
                data=await request.read(),
                headers=headers,
            ) as answer,
        ):
            kept = {k: v for k, v in answer.headers.items() if k in ("Retry-After",)}
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                headers=kept,
                content_type="application/json",
            )

    def serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(self._app())
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())


@contextmanager
def socket_mode_stand_in(web_api: SlackWebApiServer | None = None) -> Iterator[SocketModeStandIn]:
    stand_in = SocketModeStandIn(port=free_port(), web_api=web_api)
    started = threading.Event()
    thread = threading.Thread(target=stand_in.serve, args=(started,), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield stand_in
    finally:
        stand_in._loop.call_soon_threadsafe(stand_in._loop.stop)
        thread.join(10)
