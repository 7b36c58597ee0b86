"""What the presenter does in Slack for one waiting entry: post, update, post anew, remove.

Show: the issue's message is found (this process knows its ts, the snapshot does, or the
channel's history names it by metadata) and updated, or posted when there is none. A post
whose outcome is unknown (the connection dropped) is never repeated blind: the channel's
history is searched again first (`message_index`, `adoption`).

Escalation: when an issue this process has shown reaches a higher escalation level with
mentions, it is posted anew (Slack Manager's way), because Slack notifies mentions only in
new messages, and a new message is where the channel looks. After a restart the level last
shown is unknown and the message is updated instead, so a mention is never repeated by a
crash. Escalation notes are not thread replies: a reply sits under a message that may have
scrolled far up, where the channel easily misses it, and a reply also sent to the channel
would be a second channel message anyway.

Moves: the message in the channel the issue left goes; the target channel's queue posts the
new one (on `IssueArrived`).

Threads: a message about to go (escalation, move) is first asked for replies
(`conversations.replies`); with replies it stays, marked as left behind (`left_behind`), so
the conversation under it is not orphaned, and the issue goes on in its new message.

Reminders: a reply in the message's thread (the message itself is not posted again), only
while the issue, as it stands when the reply's turn comes, still waits for someone: one
acknowledged, silenced or resolved meanwhile gets none.

Priorities: new posts, removals, state changes (status, severity, escalation, who acted,
silence) and reminders go before count-only updates (`workspace_budget`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from domain.issue_reminders import unattended
from domain.issue_state import IssueSnapshot
from domain.silences import DEFAULT_SILENCE_DURATIONS
from gateways.slack.adoption import adopt_message
from gateways.slack.blocks import reminder_text, render_issue
from gateways.slack.channel_queue import (
    DELETE,
    POST,
    REPLIES,
    UPDATE,
    CallTurns,
    Pending,
)
from gateways.slack.left_behind import Reason, render_left_behind
from gateways.slack.message_index import MessageIndex
from gateways.slack.mrkdwn import AlertMarkup
from gateways.slack.web_api import SlackMessages, SlackRejected, SlackUnavailable
from gateways.slack.workspace_budget import Priority

log = logging.getLogger("alertfold.slack")

STATE_CHANGE, COUNT_ONLY = 0, 1
# What Slack answers an update of a message that is no longer there to change (Slack Manager
# posts anew on both).
_GONE = frozenset({"message_not_found", "cant_update_message"})


class IssueMessages:
    """The issue messages of this presenter, and how many calls changed them."""

    def __init__(
        self,
        slack: SlackMessages,
        index: MessageIndex,
        markup: AlertMarkup,
        silence_durations: Sequence[timedelta] = DEFAULT_SILENCE_DURATIONS,
    ) -> None:
        self.slack = slack
        self.index = index
        self.markup = markup
        self.silence_durations = silence_durations
        self.levels: dict[str, int] = {}  # escalation level each issue was last shown at
        self.posts = 0
        self.updates = 0
        self.deletes = 0
        self.kept = 0  # messages left behind (marked) for their thread instead of deleted
        self.reminders = 0

    def method_of(self, entry: Pending) -> str:
        """The first call the entry needs."""
        if entry.delete:
            return DELETE
        if self.replies_only(entry):
            return POST
        return UPDATE if self.index.known_ts(entry.issue) else POST

    def replies_only(self, entry: Pending) -> bool:
        """The entry only has a reminder to reply to a message this process knows."""
        return entry.reply_only and self.index.known_ts(entry.issue) is not None

    def priority(self, entry: Pending) -> Priority:
        issue = entry.issue
        if entry.delete or entry.remind_at is not None or not self.index.known_ts(issue):
            return (STATE_CHANGE, entry.since)
        shown = self.index.states.get((issue.channel_id, issue.id))
        return (STATE_CHANGE if shown != state_of(issue) else COUNT_ONLY, entry.since)

    def forget(self, channel: str, issue_id: str) -> None:
        self.index.forget(channel, issue_id)
        self.levels.pop(issue_id, None)

    async def show(self, calls: CallTurns, issue: IssueSnapshot) -> None:
        """Post or update the issue's message with its state."""
        channel = calls.channel
        message = render_issue(issue, self.markup, self.silence_durations)
        ts = self.index.known_ts(issue) or await adopt_message(
            self.slack, calls, self.index, issue.id
        )
        if ts is not None and self._escalated_with_mentions(issue):
            await self._retire(calls, issue, ts, "escalated")
            ts = None
        if ts is None:
            await calls.turn(POST)
            try:
                ts = await self.slack.post(channel, message)
            except SlackUnavailable:
                self.index.forget_scan(channel)  # it may have been posted after all
                raise
            self.index.posted(channel, issue.id, ts)
            self.posts += 1
        elif self.index.shown.get((channel, issue.id)) != message:
            await calls.turn(UPDATE)
            try:
                await self.slack.update(channel, ts, message)
            except SlackRejected as error:
                if error.error not in _GONE:
                    raise
                log.warning(
                    "slack: the message of %s is gone (%s); posting it again", issue.id, error
                )
                self.index.gone(channel, issue.id, ts)
                return await self.show(calls, issue)
            self.updates += 1
        self.index.shown[(channel, issue.id)] = message
        self.index.states[(channel, issue.id)] = state_of(issue)
        self.levels[issue.id] = issue.escalation_level

    async def remind(self, calls: CallTurns, issue: IssueSnapshot) -> None:
        """Reply under the issue's message that it still waits for someone, if it does."""
        ts = self.index.known_ts(issue)
        if ts is None or not unattended(issue):
            return
        await calls.turn(POST)
        await self.slack.reply(calls.channel, ts, reminder_text(issue))
        self.reminders += 1

    async def remove(self, calls: CallTurns, issue: IssueSnapshot, old_ts: str | None) -> None:
        """Take away the message of an issue that left the channel: the one the fold knew,
        the one this process knows (posted just before the move), else one found by
        metadata."""
        channel = calls.channel
        known = {ts for ts in (old_ts, self.index.ts.get((channel, issue.id))) if ts}
        found = None if known else await adopt_message(self.slack, calls, self.index, issue.id)
        for ts in sorted(known | ({found} if found else set())):
            await self._retire(calls, issue, ts, "moved")
        self.index.forget(channel, issue.id)

    async def _retire(self, calls: CallTurns, issue: IssueSnapshot, ts: str, why: Reason) -> None:
        """Delete the message at `ts`, or mark it left behind when people replied to it."""
        channel = calls.channel
        await calls.turn(REPLIES)
        if await self.slack.has_replies(channel, ts):
            await calls.turn(UPDATE)
            try:
                await self.slack.update(channel, ts, render_left_behind(issue, why))
            except SlackRejected as error:
                if error.error not in _GONE:
                    raise
            self.kept += 1
            done = "kept (it has replies) and marked"
        else:
            await calls.turn(DELETE)
            await self.slack.delete(channel, ts)
            self.deletes += 1
            done = "deleted"
        self.index.gone(channel, issue.id, ts)
        log.info("slack: %s the message %s of %s issue %s in %s", done, ts, why, issue.id, channel)

    def _escalated_with_mentions(self, issue: IssueSnapshot) -> bool:
        """Whether the issue's message must be posted again so its new mentions notify."""
        shown_level = self.levels.get(issue.id, issue.escalation_level)
        return (
            issue.status == "open" and bool(issue.mentions) and issue.escalation_level > shown_level
        )


def state_of(issue: IssueSnapshot) -> tuple[Any, ...]:
    """What a state change changes; an update that changes nothing of it only counts."""
    return (
        issue.status,
        issue.severity,
        issue.resolution,
        issue.escalation_level,
        *(_who(getattr(issue, name, None)) for name in _ACTORS),
        getattr(issue, "silenced_until", None),
    )


_ACTORS = ("acknowledged_by", "investigated_by", "muted_by", "resolved_by")


def _who(actor: Any) -> Any:
    return actor.get("id") if isinstance(actor, dict) else None
