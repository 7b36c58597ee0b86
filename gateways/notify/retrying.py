"""Trying a delivery again, only when trying again can help, and never faster than asked.

tenacity runs the attempts; the policy here says which results to retry and how long to wait.

A result is retried only when its sender marked it retryable (5xx, 429, SMTP 4xx, connection
failures, timeouts). Waits double from `first_backoff` up to `max_backoff`; a receiver's
`Retry-After` replaces the computed wait, capped by `max_backoff` so one receiver cannot park
a delivery for hours. No jitter: deliveries of one channel are sequential, so there is no
herd to spread, and fixed waits keep the delivery log readable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from gateways.notify.sending import DeliveryResult, Notification, Sender


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_backoff: float = 1.0
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.first_backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoffs must not be negative")

    def wait_after(self, attempt: int, result: DeliveryResult) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if result.retry_after is not None:
            return min(max(result.retry_after, 0.0), self.max_backoff)
        backoff: float = self.first_backoff * 2.0 ** (attempt - 1)
        return min(backoff, self.max_backoff)


async def deliver(
    sender: Sender,
    notification: Notification,
    *,
    policy: RetryPolicy,
    on_attempt: Callable[[int, DeliveryResult], Awaitable[None]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryResult:
    """Send until delivered, refused for good, or out of attempts; the last result."""
    attempts = 0

    async def attempt() -> DeliveryResult:
        nonlocal attempts
        attempts += 1
        result = await sender.send(notification)
        await on_attempt(attempts, result)
        return result

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda result: not result.ok and result.retryable),
        stop=stop_after_attempt(policy.attempts),
        wait=lambda state: policy.wait_after(state.attempt_number, _last(state)),
        sleep=sleep,
        retry_error_callback=_last,  # out of attempts: the last failure, not an exception
    )
    result: DeliveryResult = await retrying(attempt)
    return result


def _last(state: RetryCallState) -> DeliveryResult:
    assert state.outcome is not None
    result: DeliveryResult = state.outcome.result()
    return result
