"""A method Slack limits per workspace is shared by all channels, the most urgent call first."""

from __future__ import annotations

import time
from collections.abc import Callable

from gateways.slack.workspace_budget import TIER_3, WorkspaceBudget, tier_3

UPDATE = "chat.update"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Woken:
    def __init__(self) -> None:
        self.channels: list[str] = []

    def of(self, channel: str) -> Callable[[], None]:
        return lambda: self.channels.append(channel)


def one_per_second(clock: Clock) -> WorkspaceBudget:
    return WorkspaceBudget({UPDATE: 60}, burst=1, clock=clock)


async def test_tier_3_methods_are_budgeted_and_posts_are_not() -> None:
    budget = WorkspaceBudget(tier_3(50))
    assert all(budget.limited(method) for method in TIER_3)
    assert not budget.limited("chat.postMessage")


async def test_the_next_token_goes_to_a_state_change_before_count_updates_in_any_channel() -> None:
    clock, woken = Clock(), Woken()
    budget = one_per_second(clock)
    assert budget.declare("C1", {UPDATE: (1, 90.0)}, woken.of("C1")) == {UPDATE}
    assert budget.declare("C2", {UPDATE: (1, 91.0)}, woken.of("C2")) == set()
    assert budget.declare("C3", {UPDATE: (0, 99.0)}, woken.of("C3")) == set()
    budget.budget(UPDATE).use("C1")
    clock.now += 1
    assert budget.declare("C2", {UPDATE: (1, 91.0)}, woken.of("C2")) == set()
    assert woken.channels == ["C3"]  # the resolve waited least but goes first
    clock.now += 1
    assert budget.declare("C3", {}, woken.of("C3")) == set()  # unused: the token goes back
    assert woken.channels == ["C3", "C2"]


async def test_a_429_holds_the_method_in_every_channel_for_its_retry_after() -> None:
    clock, woken = Clock(), Woken()
    budget = WorkspaceBudget({UPDATE: 600}, burst=5, clock=clock)
    budget.hold(UPDATE, 3)
    assert budget.declare("C1", {UPDATE: (0, 0.0)}, woken.of("C1")) == set()
    clock.now += 2.9
    assert budget.declare("C2", {UPDATE: (0, 0.0)}, woken.of("C2")) == set()
    clock.now += 0.2  # 0.1 s past the hold: one token earned since, for the first in line
    assert budget.declare("C2", {UPDATE: (0, 0.0)}, woken.of("C2")) == set()
    assert woken.channels == ["C1"]


async def test_a_call_waits_for_its_token_at_the_methods_rate() -> None:
    budget = WorkspaceBudget({UPDATE: 600}, burst=1)  # one every 0.1 s
    started = time.monotonic()
    for channel in ("C1", "C2", "C1", "C3"):
        await budget.take(UPDATE, channel, (1, 0.0))
    assert time.monotonic() - started >= 0.29
