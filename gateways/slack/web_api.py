"""The few Slack Web API calls the presenter makes, with Slack's answers turned into outcomes.

slack_sdk reports every failure as `SlackApiError`; the presenter needs to know which of
three things happened, because each asks for something different: `SlackRateLimited` (wait
Retry-After on that method, then try again), `SlackUnavailable` (the outcome is unknown,
e.g. the connection dropped after the request left: try again later, and look for a message
that may exist before posting) and `SlackRejected` (Slack said no for good: retrying the
same call cannot help).

slack_sdk's default retry handler sends a request again when the connection was reset or
closed, which for `chat.postMessage` may post a second message: the first one took effect,
its answer was lost. So the client here retries only the calls that are harmless to repeat
(updates, deletes, reads), and an unknown post goes to the presenter as `SlackUnavailable`,
which searches the channel for the message before posting again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from gateways.slack.blocks import RenderedMessage, issue_id_of
from gateways.slack.metrics import CALL_SECONDS, CALLS

log = logging.getLogger("alertfold.slack")

SLACK_API_URL = "https://slack.com/api/"
HISTORY_PAGE = 200
# Errors Slack answers with HTTP 200 that mean "later", not "never".
_TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable"})


class SlackRateLimited(Exception):
    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(f"{method} rate limited for {retry_after:g} s")
        self.method = method
        self.retry_after = retry_after


class SlackUnavailable(Exception):
    """The call may or may not have taken effect."""


class SlackRejected(Exception):
    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.error = error


class RepeatableCallRetry(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry after a reset connection, for every call but `chat.postMessage`."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.rstrip("/").endswith("/chat.postMessage"):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class SlackMessages:
    """Posts, updates and finds issue messages with the real `slack_sdk` AsyncWebClient."""

    def __init__(self, token: str, base_url: str = SLACK_API_URL, timeout: int = 30) -> None:
        self._token = token
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    async def open(self) -> None:
        """One HTTP session for the presenter's life (slack_sdk opens one per call otherwise)."""
        self._session = aiohttp.ClientSession()
        self._client = AsyncWebClient(
            token=self._token,
            base_url=self._base_url,
            timeout=self._timeout,
            session=self._session,
            retry_handlers=[RepeatableCallRetry()],
        )
        await self._call("auth.test")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._client = None

    async def post(self, channel: str, message: RenderedMessage) -> str:
        """Post a message, as the alert names the bot if it does; returns its ts.

        Naming the bot needs the `chat:write.customize` scope; an app installed without it
        gets the message posted under its own name rather than not at all.
        """
        customised = {
            name: value
            for name, value in (("username", message.username), ("icon_emoji", message.icon_emoji))
            if value
        }
        arguments: dict[str, Any] = {
            "channel": channel,
            "text": message.text,
            "attachments": message.attachments(),
            "metadata": message.metadata,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        try:
            response = await self._call("chat.postMessage", **arguments, **customised)
        except SlackRejected as error:
            if not customised or error.error != "missing_scope":
                raise
            log.warning("slack: no chat:write.customize scope: posting under the app's own name")
            response = await self._call("chat.postMessage", **arguments)
        return str(response["ts"])

    async def reply(self, channel: str, thread_ts: str, text: str) -> str:
        """Post a plain reply in the thread of the message at `thread_ts`; returns its ts."""
        response = await self._call(
            "chat.postMessage", channel=channel, thread_ts=thread_ts, text=text
        )
        return str(response["ts"])

    async def post_text(self, channel: str, text: str) -> str:
        """Post a plain note (no issue, no metadata); returns its ts."""
        response = await self._call("chat.postMessage", channel=channel, text=text)
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: RenderedMessage) -> None:
        await self._call(
            "chat.update",
            channel=channel,
            ts=ts,
            text=message.text,
            attachments=message.attachments(),
            metadata=message.metadata,
        )

    async def delete(self, channel: str, ts: str) -> None:
        """Delete a message; one already gone counts as deleted."""
        try:
            await self._call("chat.delete", channel=channel, ts=ts)
        except SlackRejected as error:
            if error.error != "message_not_found":
                raise

    async def has_replies(self, channel: str, ts: str) -> bool:
        """Whether people answered the message in its thread (a message already gone has
        none)."""
        try:
            response = await self._call("conversations.replies", channel=channel, ts=ts, limit=2)
        except SlackRejected as error:
            if error.error in ("thread_not_found", "message_not_found"):
                return False
            raise
        messages = response.get("messages") or []
        return len(messages) > 1 or any(m.get("reply_count") for m in messages[:1])

    async def history_page(self, channel: str, cursor: str | None) -> tuple[dict[str, str], str]:
        """One page of the channel's newest messages: issue id → ts, and the next cursor."""
        response = await self._call(
            "conversations.history",
            channel=channel,
            limit=HISTORY_PAGE,
            include_all_metadata=True,
            **({"cursor": cursor} if cursor else {}),
        )
        found: dict[str, str] = {}
        for message in response.get("messages") or []:
            issue_id = issue_id_of(message.get("metadata"))
            if issue_id is not None and issue_id not in found:
                found[issue_id] = str(message["ts"])
        metadata = response.get("response_metadata") or {}
        next_cursor = str(metadata.get("next_cursor") or "") if response.get("has_more") else ""
        return found, next_cursor

    async def _call(self, method: str, **arguments: Any) -> Any:
        if self._client is None:
            raise RuntimeError("SlackMessages.open() was not called")
        api = {
            "auth.test": self._client.auth_test,
            "chat.postMessage": self._client.chat_postMessage,
            "chat.update": self._client.chat_update,
            "chat.delete": self._client.chat_delete,
            "conversations.history": self._client.conversations_history,
            "conversations.replies": self._client.conversations_replies,
        }[method]
        started = time.perf_counter()
        outcome = "unavailable"  # also when cancelled: whether it took effect is unknown
        try:
            answer = await api(**arguments)
            outcome = "ok"
            return answer
        except SlackApiError as error:
            failure = _outcome(method, error)
            outcome = _OUTCOMES[type(failure)]
            raise failure from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise SlackUnavailable(f"{method}: {error!r}") from error
        finally:
            CALLS.labels(method, outcome).inc()
            CALL_SECONDS.labels(method).observe(time.perf_counter() - started)


def _outcome(method: str, error: SlackApiError) -> Exception:
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    code = str(response.get("error", "")) if response is not None else ""
    if status == 429 or code in ("rate_limited", "ratelimited", "message_limit_exceeded"):
        return SlackRateLimited(method, _retry_after(response.headers))
    if status >= 500 or code in _TRANSIENT_ERRORS:
        return SlackUnavailable(f"{method}: HTTP {status} {code}")
    return SlackRejected(method, code or f"HTTP {status}")


_OUTCOMES = {
    SlackRateLimited: "rate_limited",
    SlackUnavailable: "unavailable",
    SlackRejected: "rejected",
}


def _retry_after(headers: Any) -> float:
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0) or 1.0
    except (TypeError, ValueError, AttributeError):
        return 1.0
