"""Slack channels by name: `#ops-alerts` or `ops-alerts` to its id, and the channels the bot is in.

Everything downstream is keyed by channel id (a name can be renamed under a running
system), so a name is turned into its id at the edge, before anything is stored, as Slack
Manager does. The bot's channels come from `conversations.list` (public and private, not
archived, every page) filtered by `is_member`, and are kept `ttl` seconds; a name not found
asks Slack again, at most every `miss_ttl` seconds, so a channel the bot was just invited to
is found and a stream of misspelt names costs one call now and then. Slack's names are lower
case; an id is upper-case letters and digits, and is passed through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("alertfold.slack.channels")

PAGE = 200
DEFAULT_TTL_SECONDS = 300.0
MISS_TTL_SECONDS = 30.0
_ID = re.compile(r"^[A-Z0-9]+$")


@dataclass(frozen=True)
class SlackChannel:
    id: str
    name: str


class UnknownChannelName(Exception):
    """A channel name that is not one of the bot's channels; the message says what to do."""


class ChannelsUnavailable(Exception):
    """Slack did not list the channels (network, rate limit, missing scope)."""


def is_channel_name(value: str) -> bool:
    """`#name`, or anything an id cannot be (ids are upper-case letters and digits)."""
    value = value.strip()
    return bool(value) and (value.startswith("#") or not _ID.match(value))


class ChannelDirectory:
    def __init__(
        self,
        web_client: AsyncWebClient,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        miss_ttl: float = MISS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = web_client
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._clock = clock
        self._channels: list[SlackChannel] | None = None
        self._by_name: dict[str, str] = {}
        self._listed_at = 0.0
        self._lock = asyncio.Lock()

    async def channels(self) -> list[SlackChannel]:
        """The channels the bot is a member of, by name."""
        await self._list_if_older_than(self._ttl)
        return list(self._channels or [])

    async def resolve(self, value: str) -> str:
        """The id of the channel `value` names; an id is returned as it is.

        Raises `UnknownChannelName` for a name the bot has no channel by, and
        `ChannelsUnavailable` when Slack cannot be asked and nothing is known yet.
        """
        if not is_channel_name(value):
            return value.strip()
        name = value.strip().removeprefix("#").lower()
        await self._list_if_older_than(self._ttl)
        if name not in self._by_name:
            await self._list_if_older_than(self._miss_ttl)
        found = self._by_name.get(name)
        if found is None:
            raise UnknownChannelName(
                f"no channel named #{name} has alertfold as a member: invite the bot to it, "
                "or give the channel id"
            )
        return found

    async def _list_if_older_than(self, age: float) -> None:
        async with self._lock:
            if self._channels is not None and self._clock() - self._listed_at < age:
                return
            try:
                channels = await self._list()
            except ChannelsUnavailable:
                if self._channels is None:
                    raise
                log.warning("keeping the channel list from before", exc_info=True)
                return
            finally:
                self._listed_at = self._clock()
            self._channels = channels
            self._by_name = {c.name.lower(): c.id for c in channels}

    async def _list(self) -> list[SlackChannel]:
        channels: list[SlackChannel] = []
        cursor = ""
        while True:
            try:
                response = await self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=PAGE,
                    **({"cursor": cursor} if cursor else {}),
                )
            except SlackApiError as error:
                raise ChannelsUnavailable(
                    f"conversations.list: {error.response.get('error')}"
                ) from None
            except (TimeoutError, aiohttp.ClientError, OSError) as error:
                raise ChannelsUnavailable(f"conversations.list: {error!r}") from None
            channels.extend(
                SlackChannel(id=str(c["id"]), name=str(c.get("name") or ""))
                for c in response.get("channels") or []
                if c.get("is_member") and c.get("id")
            )
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return sorted(channels, key=lambda c: c.name)
