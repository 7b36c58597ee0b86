"""The state behind the Slack Web API stand-in: channels, their messages, rate limits, calls.

Kept apart from the HTTP layer (`harness.slack_server`) so what Slack *does* reads on
its own: which calls are limited and how (token buckets per method and workspace, and per
method and channel for `chat.postMessage`), what a message keeps (text, blocks, attachments,
metadata, its thread) and what a test may later assert on (every call, with its time and
payload).
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


# Slack's published limits (api.slack.com/apis/rate-limits), "per API method per app per
# workspace": chat.postMessage about 1/s per channel ("short bursts >1 allowed"),
# chat.update, chat.delete, conversations.history and conversations.replies Tier 3 (50+ per
# minute, "sporadic bursts are welcome"), auth.test Tier 4 (100+/min), conversations.info
# Tier 3, views.open and views.update Tier 4, usergroups.users.list Tier 2 (20+/min).
SLACK_PER_CHANNEL: dict[str, RateLimit] = {"chat.postMessage": RateLimit(1.0, 3)}
SLACK_PER_METHOD: dict[str, RateLimit] = {
    "chat.update": _tier(50, 10),
    "chat.delete": _tier(50, 10),
    "conversations.history": _tier(50, 10),
    "conversations.replies": _tier(50, 10),
    "conversations.info": _tier(50, 10),
    "views.open": _tier(100, 20),
    "views.update": _tier(100, 20),
    "usergroups.users.list": _tier(20, 5),
    "auth.test": _tier(100, 20),
}


# Slack does not document how much text all of a message's blocks may hold together; past it
# `chat.postMessage` answers `msg_blocks_too_long`. Its maintainers speak of "12,000 text
# characters with a buffer for block containers" (github.com/slackapi/bolt-js issues 2509
# and 2867), which is what the stand-in counts: the text of every text object, in the
# message's blocks and its attachments' blocks.
BLOCKS_TEXT_MAX = 12_000


@dataclass(frozen=True)
class SlackLimits:
    per_channel: dict[str, RateLimit] = field(default_factory=lambda: dict(SLACK_PER_CHANNEL))
    per_method: dict[str, RateLimit] = field(default_factory=lambda: dict(SLACK_PER_METHOD))
    blocks_text_max: int = BLOCKS_TEXT_MAX

    @classmethod
    def none(cls) -> SlackLimits:
        """No rate limits (Block Kit limits stay: they are what Slack accepts, not a pace)."""
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
    answered: bool = True  # False: it took effect, then the connection dropped unanswered

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
    user: str = BOT_USER  # who wrote it: the bot may change and delete only its own messages
    thread_ts: str | None = None  # set on a reply: the ts of the message it answers
    username: str = ""  # the bot's name and icon for this message (`chat:write.customize`)
    icon_emoji: str = ""
    reply_count: int = 0  # on a thread's parent: how many replies it has

    def as_json(self, *, with_metadata: bool) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            **({"bot_id": "BALERTFOLD"} if self.user == BOT_USER else {}),
            "ts": self.ts,
            "text": self.text,
        }
        if self.thread_ts or self.reply_count:
            message["thread_ts"] = self.thread_ts or self.ts
        if self.reply_count:
            message["reply_count"] = self.reply_count
        if self.username:
            message["username"] = self.username
        if self.icon_emoji:
            message["icons"] = {"emoji": self.icon_emoji}
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
        # The bot token's scopes, where a method's answer depends on one.
        self.scopes: set[str] = {"chat:write.customize"}
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
        """The channel's messages, newest first (the order `conversations.history` uses);
        replies stay in their threads."""
        return sorted(
            (m for m in self.channels[channel].values() if m.thread_ts is None),
            key=lambda m: float(m.ts),
            reverse=True,
        )

    def thread(self, channel: str, ts: str) -> list[SlackMessage]:
        """A thread, oldest first: its parent, then the replies (`conversations.replies`)."""
        parent = self.channels[channel].get(ts)
        if parent is None:
            return []
        replies = [m for m in self.channels[channel].values() if m.thread_ts == parent.ts]
        return [parent, *sorted(replies, key=lambda m: float(m.ts))]
