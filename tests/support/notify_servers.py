"""Local stand-ins for the systems notifications go to, answering the way the real ones do.

- `HttpReceiver`: any webhook receiver. Records every request; can be told to answer the
  next N requests with an error (500, 429 with `Retry-After`, 400…) or to hang, before it
  answers 200 again.
- `NtfyServer`: an ntfy server's publishing endpoint (`POST /<topic>`): checks the topic
  pattern, the `Priority` value and the access token like ntfy, decodes RFC 2047 headers,
  answers with ntfy's message JSON or its error JSON (`{code, http, error}`).
- `PagerDutyServer`: the Events API v2 (`POST /v2/enqueue`): checks routing key, action,
  dedup key and the required payload fields, answers 202 or 400 with PagerDuty's bodies, and
  keeps the state of each alert (triggered, acknowledged, resolved).
- `SmtpServer` (in `tests.support.smtp_server`, to keep each module short): the SMTP side.

Each HTTP stand-in runs its own event loop in a thread, so synchronous and async tests alike
just use `url`, and read what arrived from the test's thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from typing import Any, TypeVar

from aiohttp import web

from infra.local_kafka import free_port

NTFY_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")
NTFY_PRIORITIES = {
    "1": 1, "min": 1, "2": 2, "low": 2, "3": 3, "default": 3,
    "4": 4, "high": 4, "5": 5, "max": 5, "urgent": 5,
}  # fmt: skip
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
PAGERDUTY_THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
}


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ScriptedAnswer:
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (or until the server stops)


class HttpReceiver:
    """Records requests; answers the scripted ones first, then `answer` (200 by default)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._script: deque[ScriptedAnswer] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self.lock:
            return list(self._requests)

    def fail_next(
        self,
        times: int,
        status: int = 500,
        *,
        retry_after: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After`, if given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self._script.extend(ScriptedAnswer(status, body, headers) for _ in range(times))

    def hang_next(self, times: int, seconds: float = 30.0) -> None:
        """Keep the next `times` requests waiting `seconds` (less if the server stops)."""
        with self.lock:
            self._script.extend(ScriptedAnswer(200, hang=seconds) for _ in range(times))

    async def answer(self, request: ReceivedRequest) -> web.Response:
        """The normal answer, once the script is used up: subclasses speak their protocol."""
        return web.json_response({"ok": True})

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="notify-stand-in", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is None or self._thread is None or stopping is None:
            return
        loop.call_soon_threadsafe(stopping.set)
        self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._run())
        loop.close()

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._started.set()
        await self._stopping.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = ReceivedRequest(
            method=request.method,
            path=request.path_qs,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.read(),
        )
        with self.lock:
            self._requests.append(received)
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return await self.answer(received)
        if scripted.hang and self._stopping is not None:
            await _wait(self._stopping, scripted.hang)
        return _scripted_response(scripted)


class NtfyServer(HttpReceiver):
    """ntfy's `POST /<topic>` publishing, with an optional required access token."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token
        self._messages: list[dict[str, Any]] = []

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Published messages as ntfy returns them (decoded title, tags list, priority)."""
        with self.lock:
            return list(self._messages)

    async def answer(self, request: ReceivedRequest) -> web.Response:
        topic = request.path.lstrip("/").split("?")[0]
        if request.method not in ("POST", "PUT") or not NTFY_TOPIC.match(topic):
            return _ntfy_error(404, 40401, "page not found")
        denied = self._denied(request)
        if denied is not None:
            return denied
        priority_text = _ntfy_param(request, "x-priority", "priority", "prio", "p").lower()
        if priority_text and priority_text not in NTFY_PRIORITIES:
            return _ntfy_error(400, 40007, "invalid priority")
        message: dict[str, Any] = {
            "id": uuid.uuid4().hex[:12],
            "time": int(time.time()),
            "event": "message",
            "topic": topic,
            "message": request.body.decode(),
            "priority": NTFY_PRIORITIES.get(priority_text, 3),
        }
        title = _ntfy_param(request, "x-title", "title", "t")
        tags = _ntfy_param(request, "x-tags", "tags", "tag", "ta")
        click = _ntfy_param(request, "x-click", "click")
        message |= {"title": title} if title else {}
        message |= {"tags": [t.strip() for t in tags.split(",") if t.strip()]} if tags else {}
        message |= {"click": click} if click else {}
        with self.lock:
            self._messages.append(message)
        return web.json_response(message)

    def _denied(self, request: ReceivedRequest) -> web.Response | None:
        if self.token is None:
            return None
        given = request.header("authorization")
        if given is None:
            return _ntfy_error(403, 40301, "forbidden")
        if given != f"Bearer {self.token}":
            return _ntfy_error(401, 40101, "unauthorized")
        return None


class PagerDutyServer(HttpReceiver):
    """PagerDuty's Events API v2; `alerts` maps each dedup key to its alert's status."""

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, str] = {}
        self._events: list[dict[str, Any]] = []

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events PagerDuty accepted, in order."""
        with self.lock:
            return list(self._events)

    async def answer(self, request: ReceivedRequest) -> web.Response:
        if request.path != "/v2/enqueue" or request.method != "POST":
            return web.json_response({"status": "not found"}, status=404)
        try:
            event = request.json()
        except ValueError:
            return _pagerduty_invalid(["Event object is not valid JSON"])
        if not isinstance(event, dict):
            return _pagerduty_invalid(["Event object must be a JSON object"])
        errors = pagerduty_errors(event)
        if errors:
            return _pagerduty_invalid(errors)
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        with self.lock:
            self._events.append(event)
            self._apply(event["event_action"], key)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )

    def _apply(self, action: str, key: str) -> None:
        current = self.alerts.get(key)
        if action == "trigger" and current != "triggered":
            self.alerts[key] = "triggered"  # a new alert, or an acknowledged one re-triggered
        elif action == "acknowledge" and current == "triggered":
            self.alerts[key] = "acknowledged"
        elif action == "resolve" and current in ("triggered", "acknowledged"):
            self.alerts[key] = "resolved"


def pagerduty_errors(event: dict[str, Any]) -> list[str]:
    """What PagerDuty would list in `errors` for this event; empty when it is valid."""
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in PAGERDUTY_ACTIONS:
        errors.append(
            "'event_action' is invalid (must be one of the following: "
            "'trigger', 'acknowledge' or 'resolve')"
        )
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = [
        f"'payload.{name}' is missing or blank"
        for name in ("summary", "source", "severity")
        if not isinstance(payload.get(name), str) or not payload[name].strip()
    ]
    if isinstance(payload.get("summary"), str) and len(payload["summary"]) > 1024:
        errors.append("'payload.summary' must be at most 1024 characters")
    if payload.get("severity") and payload.get("severity") not in PAGERDUTY_SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of the following: "
            "'critical', 'warning', 'error' or 'info')"
        )
    return errors


Server = TypeVar("Server", bound=HttpReceiver)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _ntfy_param(request: ReceivedRequest, *names: str) -> str:
    """A header by any of its ntfy names, RFC 2047 encoded words decoded like ntfy does."""
    for name in names:
        value = request.header(name)
        if value is not None:
            return str(make_header(decode_header(value))) if "=?" in value else value
    return ""


def _ntfy_error(status: int, code: int, error: str) -> web.Response:
    body = {"code": code, "http": status, "error": error, "link": "https://ntfy.sh/docs/"}
    return web.json_response(body, status=status)


def _pagerduty_invalid(errors: list[str]) -> web.Response:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    return web.json_response(body, status=400)


def _scripted_response(scripted: ScriptedAnswer) -> web.Response:
    if scripted.body is None:
        return web.Response(status=scripted.status, headers=scripted.headers)
    return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
