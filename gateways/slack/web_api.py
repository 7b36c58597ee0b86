"""The few Slack Web API calls the presenter makes, with Slack's answers turned into outcomes.

slack_sdk reports every failure as `SlackApiError`; the presenter needs to know which of
three things happened, because each asks for something different: `SlackRateLimited` (wait
Retry-After on that method in that channel, then try again), `SlackUnavailable` (the outcome
is unknown, e.g. the connection dropped after the request left: try again later, and look
for a message that may exist before posting) and `SlackRejected` (Slack said no for good:
retrying the same call cannot help).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateways.slack.blocks import RenderedMessage, issue_id_of, issue_metadata

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
        )
        await self._call("auth.test")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._client = None

    async def post(self, channel: str, issue_id: str, message: RenderedMessage) -> str:
        """Post the issue's message; returns its ts."""
        response = await self._call(
            "chat.postMessage",
            channel=channel,
            text=message.text,
            attachments=message.attachments(),
            metadata=issue_metadata(issue_id),
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, issue_id: str, message: RenderedMessage) -> None:
        await self._call(
            "chat.update",
            channel=channel,
            ts=ts,
            text=message.text,
            attachments=message.attachments(),
            metadata=issue_metadata(issue_id),
        )

    async def delete(self, channel: str, ts: str) -> None:
        """Delete a message; one already gone counts as deleted."""
        try:
            await self._call("chat.delete", channel=channel, ts=ts)
        except SlackRejected as error:
            if error.error != "message_not_found":
                raise

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
        }[method]
        try:
            return await api(**arguments)
        except SlackApiError as error:
            raise _outcome(method, error) from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise SlackUnavailable(f"{method}: {error!r}") from error


def _outcome(method: str, error: SlackApiError) -> Exception:
    response = error.response
    status = int(getattr(response, "status_code", 0) or 0)
    code = str(response.get("error", "")) if response is not None else ""
    if status == 429 or code in ("rate_limited", "ratelimited", "message_limit_exceeded"):
        return SlackRateLimited(method, _retry_after(response.headers))
    if status >= 500 or code in _TRANSIENT_ERRORS:
        return SlackUnavailable(f"{method}: HTTP {status} {code}")
    return SlackRejected(method, code or f"HTTP {status}")


def _retry_after(headers: Any) -> float:
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0) or 1.0
    except (TypeError, ValueError, AttributeError):
        return 1.0
