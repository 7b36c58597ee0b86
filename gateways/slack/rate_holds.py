"""What a channel does when Slack's rate limits hold its calls back.

A 429 holds back only the method that got it: a method Slack limits per workspace waits
everywhere (`WorkspaceBudget`), a post waits in its channel. A channel whose updates wait
longer than `notice_after` seconds is told so in one message, at most once an hour, as
Grafana OnCall posts one when Slack rate-limits an integration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateways.slack.channel_queue import POST, CallTurns, ChannelQueue
from gateways.slack.issue_messages import STATE_CHANGE
from gateways.slack.metrics import HELD_NOTICES, RATE_LIMITED
from gateways.slack.web_api import SlackMessages, SlackRateLimited, SlackRejected, SlackUnavailable
from gateways.slack.workspace_budget import WorkspaceBudget

log = logging.getLogger("alertfold.slack")

HELD_NOTICE_AFTER = 60.0
HELD_NOTICE_EVERY = 3600.0
HELD_NOTICE = (
    ":hourglass_flowing_sand: Slack's rate limits are holding back updates of alertfold's "
    "messages in this channel, so counts and times may lag for a while. New issues, "
    "resolutions and escalations go first; the messages catch up by themselves."
)


@dataclass
class RateHolds:
    slack: SlackMessages
    budget: WorkspaceBudget
    notice_after: float = HELD_NOTICE_AFTER

    def hold(self, queue: ChannelQueue, limited: SlackRateLimited) -> None:
        """Honour a 429: a workspace-limited method waits everywhere, a post in its channel."""
        log.info("slack: %s in %s: waiting %g s", limited, queue.channel, limited.retry_after)
        if self.budget.limited(limited.method):
            RATE_LIMITED.labels(limited.method, "workspace").inc()
            self.budget.hold(limited.method, limited.retry_after)
        else:
            RATE_LIMITED.labels(limited.method, "channel").inc()
            queue.block(limited.method, limited.retry_after)

    def notice_due(self, queue: ChannelQueue) -> float | None:
        """In how many seconds the channel is to be told its updates are held back; None
        while nothing waits, or while it may not be posted to (then its 429 block ends the
        wait)."""
        if queue.blocked(POST):
            return None
        return queue.held_notice_due(self.notice_after, HELD_NOTICE_EVERY)

    async def tell(self, queue: ChannelQueue) -> None:
        calls = CallTurns(queue, self.budget, (STATE_CHANGE, 0.0))
        try:
            await calls.turn(POST)
            await self.slack.post_text(queue.channel, HELD_NOTICE)
        except SlackRateLimited as limited:
            self.hold(queue, limited)
            return
        except (SlackUnavailable, SlackRejected) as error:
            log.warning("slack: could not tell %s its updates are held (%s)", queue.channel, error)
        queue.told_held()
        HELD_NOTICES.inc()
        log.info("slack: told %s that its updates are held back", queue.channel)
