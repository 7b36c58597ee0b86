"""What the modal and option-button handlers share: the view, Kafka, Slack, the admins.

The Slack calls they make are few and each failure means one thing to the user, so they are
wrapped here once: a modal that cannot open is logged (Slack shows nothing; the trigger had
expired or the request was bad), and "is the bot in that channel" is yes, no, or unknown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from domain.silences import DEFAULT_SILENCE_DURATIONS, Silence
from gateways.slack.current_message import Clicked, IssueMessages, IssueNotInViewYet
from gateways.slack.mrkdwn import AlertMarkup
from gateways.slack.ports import Issue, IssueReader, Publisher
from gateways.slack.usergroups import Admins

log = logging.getLogger("alertfold.slack.surfaces")

Tell = Callable[[str, str, str], Awaitable[None]]


class SilenceCreator(Protocol):
    async def create(self, silence: Silence) -> None: ...


@dataclass(frozen=True)
class Surfaces:
    finder: IssueReader
    interactions: Publisher
    alerts: Publisher
    admins: Admins
    slack: AsyncWebClient
    tell: Tell
    clock: Callable[[], datetime]
    silences: SilenceCreator | None = None
    # Where people open alertfold (ALERTFOLD_PUBLIC_URL); empty: no links to it.
    public_url: str = ""
    messages: IssueMessages | None = None  # None: the view only, no metadata look-ups
    # What the Silence… menu of the option buttons offers (ALERTFOLD_SILENCE_DURATIONS).
    silence_durations: tuple[timedelta, ...] = DEFAULT_SILENCE_DURATIONS
    markup: AlertMarkup = "escaped"  # how alert text is read (`mrkdwn`), as in the message

    async def issue(
        self, issue_id: str | None, channel_id: str = "", message_ts: str | None = None
    ) -> Issue | None:
        """The issue behind a button (its id) or a message (channel and ts)."""
        if issue_id:
            return await asyncio.to_thread(self.finder.get_issue, issue_id)
        if channel_id and message_ts:
            try:
                return await self.message_issue(channel_id, message_ts)
            except IssueNotInViewYet:
                return None
        return None

    async def message_issue(self, channel_id: str, message_ts: str) -> Issue | None:
        """The issue whose current message this is; raises `IssueNotInViewYet`."""
        return await self._messages().issue_of(channel_id, message_ts)

    async def shows(self, issue: Issue, where: Clicked) -> bool:
        """Whether the button used `where` may act on `issue` (`current_message`)."""
        return await self._messages().shows(issue, where)

    def _messages(self) -> IssueMessages:
        return self.messages or IssueMessages(self.finder)

    def issue_page_url(self, issue_id: str) -> str:
        """The issue's web page (its state and history, behind the page's sign-in), not an
        API route a browser cannot open once view keys are set; empty without a public URL."""
        if not self.public_url:
            return ""
        return f"{self.public_url.rstrip('/')}/ui/issues/{quote(issue_id, safe='')}"

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        try:
            await self.slack.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            return False
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            log.warning("views.open failed: %r", error)
            return False
        return True

    async def bot_is_member(self, channel_id: str) -> bool | None:
        """Whether the bot is in the channel; None when Slack does not say (unknown channel)."""
        try:
            response = await self.slack.conversations_info(channel=channel_id)
        except SlackApiError as error:
            log.info("conversations.info %s: %s", channel_id, error.response.get("error"))
            return None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            log.warning("conversations.info %s: %r", channel_id, error)
            return None
        channel = response.get("channel") or {}
        return bool(channel.get("is_member")) and not channel.get("is_archived")
