"""Calling a webhook the way Slack Manager does: a JSON POST, 3 s per attempt, and two more
attempts when the target is busy (429) or failing (5xx) or cannot be reached.

The outcome is what the issue records (`WebhookResult`): ok, the status code, or what went
wrong, in words that never quote the URL, which stays sealed everywhere but here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from domain.interactions import WebhookResult

log = logging.getLogger("alertfold.slack.webhooks")

TIMEOUT_SECONDS = 3.0
RETRIES = 2
# Between attempts; a 429's Retry-After is honoured up to this many seconds.
RETRY_PAUSE_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 3.0


async def call_webhook(
    client: httpx.AsyncClient,
    webhook_id: str,
    url: str,
    body: dict[str, Any],
    *,
    timeout: float = TIMEOUT_SECONDS,
    retries: int = RETRIES,
    pause: float = RETRY_PAUSE_SECONDS,
) -> WebhookResult:
    """POST `body` to `url`; the result of the last attempt."""
    result = WebhookResult(webhook_id=webhook_id, ok=False, error="not called")
    for attempt in range(retries + 1):
        wait = pause
        try:
            response = await client.post(url, json=body, timeout=timeout)
        except httpx.TimeoutException:
            result = WebhookResult(webhook_id=webhook_id, ok=False, error="timed out")
        except httpx.HTTPError as failure:
            result = WebhookResult(webhook_id=webhook_id, ok=False, error=type(failure).__name__)
        else:
            status = response.status_code
            ok = 200 <= status < 300
            said = "" if ok else f"HTTP {status}"
            result = WebhookResult(webhook_id=webhook_id, ok=ok, status_code=status, error=said)
            if status != 429 and status < 500:
                return result
            wait = max(pause, _retry_after(response))
        if attempt < retries:
            log.info("webhook %s: %s, attempt %d again", webhook_id, result.error, attempt + 2)
            await asyncio.sleep(wait)
    return result


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "0")), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 0.0
