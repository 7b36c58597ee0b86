"""The per-channel ingest rate limit: token buckets on a hand-driven clock, all or nothing."""

from __future__ import annotations

import pytest

from gateways.api.rate_limit import ChannelRateLimiter, RateLimited, TokenBucket


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock, rate: float = 1.0, burst: int = 30) -> ChannelRateLimiter:
    return ChannelRateLimiter(rate, burst, clock)


def test_a_new_channel_may_send_its_whole_burst_at_once(clock: Clock) -> None:
    limit = limiter(clock)
    assert limit.take({"C1": 30}) is None


def test_past_the_burst_a_channel_is_refused_until_a_token_comes_back(clock: Clock) -> None:
    limit = limiter(clock)
    for _ in range(30):
        assert limit.take({"C1": 1}) is None
    refused = limit.take({"C1": 1})
    assert refused == RateLimited(
        channel="C1", requested=1, limit=30, remaining=0, retry_after=1, reset=30
    )
    clock.advance(1.0)
    assert limit.take({"C1": 1}) is None


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst(clock: Clock) -> None:
    limit = limiter(clock, rate=2.0, burst=10)
    assert limit.take({"C1": 10}) is None
    clock.advance(2.5)  # five tokens back
    assert limit.take({"C1": 6}) is not None
    assert limit.take({"C1": 5}) is None
    clock.advance(3600)
    assert limit.take({"C1": 11}) is not None
    assert limit.take({"C1": 10}) is None


def test_retry_after_is_the_wait_for_the_requested_alerts_rounded_up(clock: Clock) -> None:
    limit = limiter(clock, rate=0.5, burst=4)
    assert limit.take({"C1": 4}) is None
    clock.advance(1.0)  # half a token back
    refused = limit.take({"C1": 3})
    assert refused is not None
    assert (refused.retry_after, refused.remaining, refused.reset) == (5, 0, 7)
    assert refused.headers() == {
        "Retry-After": "5",
        "RateLimit-Limit": "4",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "7",
    }


def test_a_refused_request_takes_nothing_from_any_channel(clock: Clock) -> None:
    limit = limiter(clock, burst=3)
    assert limit.take({"C1": 3}) is None
    refused = limit.take({"C2": 3, "C1": 1})
    assert refused is not None and refused.channel == "C1"
    assert limit.take({"C2": 3}) is None, "C2's tokens were not spent on the refused request"


def test_the_refusal_names_the_channel_that_waits_longest(clock: Clock) -> None:
    limit = limiter(clock, burst=5)
    assert limit.take({"C1": 5, "C2": 5}) is None
    clock.advance(1.0)
    refused = limit.take({"C1": 2, "C2": 4})
    assert refused is not None
    assert (refused.channel, refused.retry_after) == ("C2", 3)


def test_channels_have_separate_buckets(clock: Clock) -> None:
    limit = limiter(clock, burst=2)
    assert limit.take({"C1": 2}) is None
    assert limit.take({"C1": 1}) is not None
    assert limit.take({"C2": 2}) is None


def test_more_alerts_than_the_burst_in_one_request_can_never_pass_and_say_so(
    clock: Clock,
) -> None:
    limit = limiter(clock, burst=3)
    refused = limit.take({"C1": 4})
    assert refused is not None
    assert "exceed its burst of 3" in refused.message
    assert refused.retry_after == 1  # the bucket is full: splitting the request helps at once


def test_tokens_of_alerts_that_were_not_stored_are_given_back(clock: Clock) -> None:
    limit = limiter(clock, burst=3)
    assert limit.take({"C1": 3}) is None
    limit.give_back({"C1": 2})
    assert limit.take({"C1": 2}) is None
    limit.give_back({"C1": 10})
    assert limit.take({"C1": 4}) is not None, "giving back never fills beyond the burst"


def test_a_request_with_no_alerts_takes_nothing(clock: Clock) -> None:
    limit = limiter(clock, burst=1)
    assert limit.take({}) is None
    assert limit.take({"C1": 0}) is None
    assert limit.take({"C1": 1}) is None


def test_a_bucket_never_refills_backwards_when_the_clock_stands_still() -> None:
    bucket = TokenBucket(rate=1.0, burst=5, tokens=2.0, updated=10.0)
    assert bucket.level(9.0) == 2.0
    assert bucket.seconds_until(3, 10.0) == 1.0
    assert bucket.seconds_until(6, 10.0) == float("inf")


def test_a_limit_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError):
        ChannelRateLimiter(0, 30)
    with pytest.raises(ValueError):
        ChannelRateLimiter(1, 0)
