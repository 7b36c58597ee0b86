"""Slack's rate limits that no channel sees alone: each method's budget for the whole workspace.

Slack limits most Web API methods "per API method per app per workspace"
(api.slack.com/apis/rate-limits): `chat.update`, `chat.delete`, `conversations.history` and
`conversations.replies` are Tier 3, about 50 calls a minute for all channels together; only
`chat.postMessage` is also limited per channel (about one a second, which the channel's own
pace keeps). Twenty busy channels each updating at their own pace would earn hundreds of
429s a minute, so every call of a budgeted method waits for a token from one bucket per
method, shared by all channels.

Who gets the next token is decided here, not by whoever asks first: each channel states what
it wants (one demand per method and channel, with its priority) and the best demand is
granted when a token is free. Priorities put new posts and state changes (open, resolve,
escalate, acknowledge) before count-only updates, then the longest-waiting first, so a
resolve in a quiet channel is not stuck behind a storm's count updates elsewhere. A grant
not used (the entry changed meanwhile) goes back to the bucket. A 429 on a budgeted method
holds that method in every channel for its Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateways.slack.metrics import WORKSPACE_WAITING

# (0 for a new post or a state change, 1 for a count-only update; when it started waiting)
Priority = tuple[int, float]

TIER_3 = ("chat.update", "chat.delete", "conversations.history", "conversations.replies")
SLACK_TIER_3_PER_MINUTE = 50.0
# Slack welcomes "sporadic bursts" on Tier 3 without saying how large; a small one keeps
# the presenter under the limit however Slack's own bucket is filled.
BURST = 5


@dataclass
class _Demand:
    priority: Priority
    wake: Callable[[], None]
    granted: bool = False


class MethodBudget:
    """One method's token bucket for the workspace, and the channels waiting on it."""

    def __init__(
        self, method: str, per_minute: float, burst: int, clock: Callable[[], float]
    ) -> None:
        self._waiting = WORKSPACE_WAITING.labels(method)
        self._rate = per_minute / 60
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._held_until = 0.0
        self._demands: dict[str, _Demand] = {}
        self._timer: asyncio.TimerHandle | None = None

    def want(self, channel: str, priority: Priority, wake: Callable[[], None]) -> bool:
        """State the channel's demand (replacing its earlier one); True once it is granted.

        `wake` is called when a later grant comes.
        """
        demand = self._demands.get(channel)
        if demand is None:
            demand = self._demands[channel] = _Demand(priority, wake)
        elif not demand.granted:
            demand.priority, demand.wake = priority, wake
        self._dispatch(caller=channel)
        return demand.granted

    def use(self, channel: str) -> None:
        """The channel makes its granted call now."""
        self._demands.pop(channel, None)

    def withdraw(self, channel: str) -> None:
        """The channel wants nothing of this method any more; a grant it held goes back."""
        demand = self._demands.pop(channel, None)
        if demand is not None and demand.granted:
            self._refill()
            self._tokens = min(self._tokens + 1, self._burst)
            self._dispatch()

    def hold(self, seconds: float) -> None:
        """Slack answered 429: no call of this method anywhere for `seconds`."""
        self._refill()
        self._held_until = max(self._held_until, self._clock() + seconds)
        self._tokens = min(self._tokens, 0.0)
        self._dispatch()

    def _dispatch(self, caller: str | None = None) -> None:
        """Grant free tokens to the best demands and wake their channels (not `caller`, which
        is asking right now); come back when the next token is due."""
        self._refill()
        now = self._clock()
        waiting = sorted(
            (item for item in self._demands.items() if not item[1].granted),
            key=lambda item: item[1].priority,
        )
        for channel, demand in waiting:
            if now < self._held_until or self._tokens < 1:
                break
            self._tokens -= 1
            demand.granted = True
            if channel != caller:
                demand.wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting_now = sum(not d.granted for d in self._demands.values())
        self._waiting.set(waiting_now)
        if waiting_now:
            due = max(self._held_until - now, 0.0) + max(1 - self._tokens, 0.0) / self._rate
            self._timer = asyncio.get_running_loop().call_later(due, self._dispatch)

    def _refill(self) -> None:
        """Tokens come back at the method's rate, except while a 429 holds it."""
        now = self._clock()
        earning = max(now - max(self._at, self._held_until), 0.0)
        self._tokens = min(self._burst, self._tokens + earning * self._rate)
        self._at = now


class WorkspaceBudget:
    """The budgets of the methods Slack limits per workspace; other methods pass freely."""

    def __init__(
        self,
        per_minute: dict[str, float] | None = None,
        *,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        rates = per_minute if per_minute is not None else tier_3(SLACK_TIER_3_PER_MINUTE)
        self._methods = {m: MethodBudget(m, rate, burst, clock) for m, rate in rates.items()}

    def limited(self, method: str) -> bool:
        return method in self._methods

    def budget(self, method: str) -> MethodBudget:
        return self._methods[method]

    def declare(
        self, channel: str, wants: dict[str, Priority], wake: Callable[[], None]
    ) -> set[str]:
        """The channel's demands now (one per method, withdrawing the others); the methods
        it holds a grant for."""
        granted: set[str] = set()
        for method, budget in self._methods.items():
            if method not in wants:
                budget.withdraw(channel)
            elif budget.want(channel, wants[method], wake):
                granted.add(method)
        return granted

    async def take(self, method: str, channel: str, priority: Priority) -> None:
        """Wait for a grant of `method` for `channel` and use it."""
        budget = self._methods[method]
        granted = asyncio.Event()
        while not budget.want(channel, priority, granted.set):
            await granted.wait()
            granted.clear()
        budget.use(channel)

    def hold(self, method: str, seconds: float) -> None:
        self._methods[method].hold(seconds)


def tier_3(per_minute: float) -> dict[str, float]:
    """Every Tier 3 method the presenter calls at `per_minute` calls a minute."""
    return dict.fromkeys(TIER_3, per_minute)
