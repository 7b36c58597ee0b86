"""Finding an issue's message in Slack when its ts was never learnt (a crash right after the
post): the message carries the issue id in its metadata, so the channel's recent history
names it. Each channel is searched once per process (again after a post whose outcome is
unknown), at the channel's pace and within the workspace's `conversations.history` budget."""

from __future__ import annotations

import logging

from gateways.slack.channel_queue import HISTORY, CallTurns
from gateways.slack.message_index import MessageIndex
from gateways.slack.web_api import HISTORY_PAGE, SlackMessages

log = logging.getLogger("alertfold.slack")


async def adopt_message(
    slack: SlackMessages, calls: CallTurns, index: MessageIndex, issue_id: str
) -> str | None:
    """The issue's message from the channel's recent history (searched once), if any."""
    channel = calls.channel
    if not index.scanned(channel):
        found: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(max(1, -(-index.scan_limit // HISTORY_PAGE))):
            await calls.turn(HISTORY)
            page, cursor = await slack.history_page(channel, cursor)
            for key, found_ts in page.items():
                found.setdefault(key, found_ts)
            if not cursor:
                break
        index.record_scan(channel, found)
    ts = index.adopt(channel, issue_id)
    if ts is not None:
        log.info("slack: adopted the message %s of issue %s in %s", ts, issue_id, channel)
    return ts
