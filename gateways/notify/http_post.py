"""One HTTP POST with a deadline, its outcome read the way every HTTP channel reads it.

2xx is delivered; 408, 429 and 5xx are worth another try (429 and 503 may say when in
`Retry-After`); other answers are final. Errors name the receiver by scheme and host only,
and scrub the secrets they are given, because webhook paths and answers may echo tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from gateways.notify.sending import DeliveryResult
from gateways.notify.targets import url_host

HTTP_TIMEOUT = 5.0
ANSWER_EXCERPT = 200
_RETRYABLE_STATUS = frozenset({408, 425, 429})


async def post(
    http: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
    timeout: float = HTTP_TIMEOUT,
) -> DeliveryResult:
    """POST `content`; whatever happens, a `DeliveryResult` within `timeout` seconds."""
    started = time.perf_counter()
    host = url_host(url)
    hidden = [s for s in secrets if s] + [url]
    try:
        async with asyncio.timeout(timeout):
            response = await http.post(url, content=content, headers=dict(headers), timeout=timeout)
    except (TimeoutError, httpx.TimeoutException):
        return failure(f"no answer from {host} within {timeout:g} s", started, retryable=True)
    except httpx.TransportError as error:
        reason = scrub(str(error) or type(error).__name__, hidden)
        return failure(f"could not reach {host}: {reason}", started, retryable=True)
    except Exception as error:  # an invalid URL or header: trying again cannot help
        reason = scrub(str(error) or type(error).__name__, hidden)
        return failure(f"could not post to {host}: {reason}", started, retryable=False)
    return answered(response, host, started, hidden)


def answered(
    response: httpx.Response, host: str, started: float, hidden: list[str]
) -> DeliveryResult:
    status = response.status_code
    latency = elapsed_ms(started)
    if 200 <= status < 300:
        return DeliveryResult(True, status, "", False, None, latency)
    retryable = status in _RETRYABLE_STATUS or status >= 500
    excerpt = scrub(" ".join(response.text.split())[:ANSWER_EXCERPT], hidden)
    error = f"{host} answered {status}" + (f": {excerpt}" if excerpt else "")
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return DeliveryResult(False, status, error, retryable, retry_after, latency)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def failure(error: str, started: float, *, retryable: bool) -> DeliveryResult:
    return DeliveryResult(False, None, error, retryable, None, elapsed_ms(started))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
