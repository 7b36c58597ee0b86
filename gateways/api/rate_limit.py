"""Per-channel ingest rate limit: one token bucket per Slack channel, all or nothing per request.

Slack Manager refuses alerts past a channel's bucket (1 alert/s, burst 30) so that one noisy
channel cannot flood Slack. alertfold absorbs storms on its log instead, so the limit is
optional; when it is on, a request is taken whole or refused whole, like validation, so a
client that retries after `Retry-After` never duplicates the half that got through.

The clock is injected (monotonic seconds), so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Beyond this many remembered channels, full buckets are forgotten: a full bucket behaves
# exactly like a new one, so forgetting it changes no answer and bounds the memory.
_PRUNE_ABOVE = 10_000


@dataclass
class TokenBucket:
    """Holds up to `burst` tokens and regains `rate` tokens per second; one alert costs one."""

    rate: float
    burst: int
    tokens: float
    updated: float

    def level(self, now: float) -> float:
        return min(float(self.burst), self.tokens + max(0.0, now - self.updated) * self.rate)

    def seconds_until(self, count: int, now: float) -> float:
        """How long until `count` tokens are there; infinite when `count` exceeds the burst."""
        if count > self.burst:
            return math.inf
        return max(0.0, (count - self.level(now)) / self.rate)

    def seconds_until_full(self, now: float) -> float:
        return (self.burst - self.level(now)) / self.rate

    def take(self, count: int, now: float) -> None:
        self.tokens = self.level(now) - count
        self.updated = now

    def give_back(self, count: int, now: float) -> None:
        self.tokens = min(float(self.burst), self.level(now) + count)
        self.updated = now


@dataclass(frozen=True)
class RateLimited:
    """Why a request was refused: the channel that waits longest, and the numbers for headers."""

    channel: str
    requested: int
    limit: int
    remaining: int
    retry_after: int
    reset: int

    @property
    def message(self) -> str:
        if self.requested > self.limit:
            return (
                f"{self.requested} alerts for channel {self.channel} in one request exceed its "
                f"burst of {self.limit}; send at most {self.limit} per request"
            )
        return (
            f"rate limit exceeded for channel {self.channel}: {self.requested} alert(s) "
            f"asked, {self.remaining} available; retry in {self.retry_after} s"
        )

    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.retry_after),
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class ChannelRateLimiter:
    """One bucket per channel; a request's alerts are admitted for all its channels or none."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, counts: Mapping[str, int]) -> RateLimited | None:
        """Take `counts[channel]` tokens from each channel, or nothing and say why not."""
        now = self._clock()
        wanted = {channel: n for channel, n in counts.items() if n > 0}
        refusals = [
            self._refusal(channel, n, now)
            for channel, n in wanted.items()
            if self._bucket(channel, now).seconds_until(n, now) > 0
        ]
        if refusals:
            return max(refusals, key=lambda r: (r.retry_after, r.channel))
        for channel, n in wanted.items():
            self._bucket(channel, now).take(n, now)
        self._prune(now)
        return None

    def give_back(self, counts: Mapping[str, int]) -> None:
        """Return tokens taken for alerts that were not stored after all (broker down)."""
        now = self._clock()
        for channel, n in counts.items():
            if n > 0 and channel in self._buckets:
                self._buckets[channel].give_back(n, now)

    def _bucket(self, channel: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, float(self.burst), now)
            self._buckets[channel] = bucket
        return bucket

    def _refusal(self, channel: str, requested: int, now: float) -> RateLimited:
        bucket = self._bucket(channel, now)
        until_full = bucket.seconds_until_full(now)
        wait = bucket.seconds_until(requested, now)
        return RateLimited(
            channel=channel,
            requested=requested,
            limit=self.burst,
            remaining=math.floor(bucket.level(now)),
            retry_after=max(1, math.ceil(until_full if math.isinf(wait) else wait)),
            reset=max(1, math.ceil(until_full)),
        )

    def _prune(self, now: float) -> None:
        if len(self._buckets) > _PRUNE_ABOVE:
            full = [c for c, b in self._buckets.items() if b.level(now) >= b.burst]
            for channel in full:
                del self._buckets[channel]
