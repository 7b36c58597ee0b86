"""The silence menu: a duration picked in Slack becomes a silence of that issue.

The silence matches the issue's channel and correlation id, so it covers the alerts that
keep the issue alive and nothing else; it starts when the user picked it. Silencing quiets
people's phones, so it is for admins, like resolving.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from domain.silences import Matcher, Silence
from gateways.slack.current_message import NOT_ITS_MESSAGE
from gateways.slack.ports import Issue
from gateways.slack.surface_context import Surfaces, Tell
from gateways.slack.surface_requests import SilenceChosen

log = logging.getLogger("alertfold.slack.silence")

SILENCE_COMMENT = "silenced from Slack"
SILENCE_REFUSAL = (
    "Only alertfold admins of this channel may silence issues here; ask one of them, or a "
    "global admin."
)


def issue_silence(issue: Issue, chosen: SilenceChosen, silence_id: str) -> Silence:
    return Silence(
        id=silence_id,
        matchers=(
            Matcher(name="slackChannelId", value=str(issue["channel_id"])),
            Matcher(name="correlationId", value=str(issue["correlation_id"])),
        ),
        starts_at=chosen.at,
        ends_at=chosen.at + timedelta(seconds=chosen.seconds),
        created_by=chosen.user.name or chosen.user.id,
        comment=SILENCE_COMMENT,
    )


async def silence_issue(surfaces: Surfaces, chosen: SilenceChosen, refuse: Tell) -> None:
    issue = await surfaces.issue(chosen.issue_id)
    user = chosen.user.id
    channel = chosen.channel_id or (issue or {}).get("channel_id", "")
    if issue is None or issue.get("status") == "archived":
        await surfaces.tell(channel, user, "That issue is no longer open here.")
        return
    if chosen.where is not None and not await surfaces.shows(issue, chosen.where):
        await surfaces.tell(channel, user, NOT_ITS_MESSAGE)
        return
    if not await surfaces.admins.is_admin(user, issue["channel_id"]):
        await refuse(channel, user, SILENCE_REFUSAL)
        return
    if surfaces.silences is None:
        await surfaces.tell(channel, user, "Silences are not available in this installation.")
        return
    silence = issue_silence(issue, chosen, str(uuid.uuid4()))
    await surfaces.silences.create(silence)
    log.info("silence %s on issue %s by %s", silence.id, issue["id"], user)
    await surfaces.tell(
        channel, user, f"Silenced until {_when(silence.ends_at)} (silence `{silence.id}`)."
    )


def _when(at: datetime) -> str:
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"
