"""The state behind the Slack Web API stand-in: channels, their messages, rate limits, calls.

Kept apart from the HTTP layer (`harness.slack_server`) so what Slack *does* reads on
its own: which calls are limited and how (token buckets per method, and per method and
channel for `chat.postMessage`), what a message keeps (text, blocks, attachments, metadata)
and what a test may later assert on (every call, with its time and payload).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `per_second` calls on average, `burst` at once after a quiet spell."""

    per_second: float
    burst: int = 1


BOT_USER = "UALERTFOLD"


def _tier(per_minute: int, burst: int) -> RateLimit:
    return RateLimit(per_minute / 60, burst)


# Slack's published limits, per app and workspace: chat.postMessage ~1/s per channel (with a
# short burst allowed), chat.update and conversations.history Tier 3 (50+/min), chat.delete
# Tier 3, auth.test Tier 4 (100+/min), conversations.info Tier 3, views.open and views.update
# Tier 4, usergroups.users.list Tier 2 (20+/min).
SLACK_PER_CHANNEL: dict[str, RateLimit] = {"chat.postMessage": RateLimit(1.0, 3)}
SLACK_PER_METHOD: dict[str, RateLimit] = {
    "chat.update": _tier(50, 10),
    "chat.delete": _tier(50, 10),
    "conversations.history": _tier(50, 10),
    "conversations.info": _tier(50, 10),
    "views.open": _tier(100, 20),
    "views.update": _tier(100, 20),
    "usergroups.users.list": _tier(20, 5),
    "auth.test": _tier(100, 20),
}


@dataclass(frozen=True)
class SlackLimits:
    per_channel: dict[str, RateLimit] = field(default_factory=lambda: dict(SLACK_PER_CHANNEL))
    per_method: dict[str, RateLimit] = field(default_factory=lambda: dict(SLACK_PER_METHOD))

    @classmethod
    def none(cls) -> SlackLimits:
        return cls(per_channel={}, per_method={})


class TokenBucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self._limit = limit
        self._tokens = float(limit.burst)
        self._at = now

    def take(self, now: float) -> float:
        """0 when a call may go now (and counts it), else the seconds until one may."""
        self._tokens = min(
            float(self._limit.burst), self._tokens + (now - self._at) * self._limit.per_second
        )
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._limit.per_second


@dataclass(frozen=True)
class SlackCall:
    """One request as the stand-in saw it; `status` and `error` say how it was answered."""

    method: str
    channel: str | None
    at: float  # time.monotonic() when it arrived
    status: int
    error: str | None
    payload: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class SlackMessage:
    ts: str
    text: str
    blocks: list[Any]
    attachments: list[Any]
    metadata: dict[str, Any] | None
    edited: int = 0
    user: str = BOT_USER  # who wrote it: the bot may delete only its own messages

    def as_json(self, *, with_metadata: bool) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            **({"bot_id": "BALERTFOLD"} if self.user == BOT_USER else {}),
            "ts": self.ts,
            "text": self.text,
        }
        if self.blocks:
            message["blocks"] = self.blocks
        if self.attachments:
            message["attachments"] = self.attachments
        if with_metadata and self.metadata:
            message["metadata"] = self.metadata
        return message


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class Workspace:
    """Channels and their messages, shared by the server thread and the test (one lock)."""

    def __init__(
        self, channels: set[str], limits: SlackLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lock = threading.RLock()
        self.limits = limits
        self.clock = clock
        self.calls: list[SlackCall] = []
        self.channels: dict[str, dict[str, SlackMessage]] = {c: {} for c in channels}
        self._buckets: dict[tuple[str, str | None], TokenBucket] = {}
        self._held: dict[tuple[str, str | None], float] = {}
        self._last_ts = 0.0

    # -- rate limits ---------------------------------------------------------------------

    def admit(self, method: str, channel: str | None) -> None:
        """Count a call against its limits, or raise `RateLimited` with Slack's Retry-After."""
        now = self.clock()
        for key in ((method, channel), (method, None)):
            held = self._held.get(key, 0.0)
            if held > now:
                raise RateLimited(max(1, math.ceil(held - now)))
        checks: list[tuple[tuple[str, str | None], RateLimit]] = []
        if channel is not None and method in self.limits.per_channel:
            checks.append(((method, channel), self.limits.per_channel[method]))
        if method in self.limits.per_method:
            checks.append(((method, None), self.limits.per_method[method]))
        for key, limit in checks:
            bucket = self._buckets.setdefault(key, TokenBucket(limit, now))
            wait = bucket.take(now)
            if wait > 0:
                # Slack answers whole seconds, rounded up, never 0.
                raise RateLimited(max(1, math.ceil(wait)))

    def hold(self, method: str, channel: str | None, seconds: float) -> None:
        """Answer 429 to `method` (in `channel`, or everywhere) for the next `seconds`."""
        self._held[(method, channel)] = self.clock() + seconds

    # -- messages ------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message id as Slack writes them: epoch seconds, a dot, six digits; increasing."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def history(self, channel: str) -> list[SlackMessage]:
        """The channel's messages, newest first (the order `conversations.history` uses)."""
        return sorted(self.channels[channel].values(), key=lambda m: float(m.ts), reverse=True)
