"""The retry loop: retries only what can succeed later, waits as asked, never really sleeps."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gateways.notify.retrying import RetryPolicy, deliver
from gateways.notify.sending import DeliveryResult, Notification, NotificationKind
from harness.stories import issue_event

OK = DeliveryResult(True, 200, "", False, None, 1.0)
SERVER_ERROR = DeliveryResult(False, 500, "h answered 500", True, None, 1.0)
BAD_REQUEST = DeliveryResult(False, 400, "h answered 400", False, None, 1.0)
DEFAULT_POLICY = RetryPolicy()
CONNECTION = DeliveryResult(False, None, "could not reach h", True, None, 1.0)


def throttled(seconds: float) -> DeliveryResult:
    return DeliveryResult(False, 429, "h answered 429", True, seconds, 1.0)


class ScriptedSender:
    """Answers with the given results in turn, as a channel's receiver would have."""

    def __init__(self, results: Sequence[DeliveryResult]) -> None:
        self._results = list(results)
        self.sent = 0

    async def send(self, notification: Notification) -> DeliveryResult:
        self.sent += 1
        return self._results.pop(0)


async def run(
    results: Sequence[DeliveryResult], policy: RetryPolicy = DEFAULT_POLICY
) -> tuple[DeliveryResult, list[tuple[int, DeliveryResult]], list[float]]:
    attempts: list[tuple[int, DeliveryResult]] = []
    waits: list[float] = []

    async def on_attempt(number: int, result: DeliveryResult) -> None:
        attempts.append((number, result))

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    notification = Notification(NotificationKind.OPENED, issue_event(), delivery_id="d-1")
    last = await deliver(
        ScriptedSender(results), notification, policy=policy, on_attempt=on_attempt, sleep=sleep
    )
    return last, attempts, waits


async def test_server_errors_are_retried_with_doubling_waits() -> None:
    last, attempts, waits = await run([SERVER_ERROR, CONNECTION, SERVER_ERROR, OK])
    assert last == OK
    assert [number for number, _ in attempts] == [1, 2, 3, 4]
    assert waits == [1.0, 2.0, 4.0]


async def test_the_last_failure_is_returned_when_attempts_run_out() -> None:
    last, attempts, waits = await run([SERVER_ERROR] * 3, RetryPolicy(attempts=3))
    assert last == SERVER_ERROR
    assert len(attempts) == 3
    assert waits == [1.0, 2.0]


async def test_a_refusal_is_not_retried() -> None:
    last, attempts, waits = await run([BAD_REQUEST, OK])
    assert last == BAD_REQUEST
    assert len(attempts) == 1
    assert waits == []


async def test_retry_after_replaces_the_backoff_up_to_the_cap() -> None:
    policy = RetryPolicy(first_backoff=1.0, max_backoff=30.0)
    _, _, waits = await run([throttled(7), throttled(120), throttled(0), OK], policy)
    assert waits == [7.0, 30.0, 0.0]


async def test_backoff_is_capped() -> None:
    policy = RetryPolicy(attempts=6, first_backoff=10.0, max_backoff=25.0)
    _, _, waits = await run([SERVER_ERROR] * 5 + [OK], policy)
    assert waits == [10.0, 20.0, 25.0, 25.0, 25.0]


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
