"""One channel's share of the presenter: what is waiting to be shown, and when it may call.

Coalescing: each issue has at most one pending entry; a newer state replaces the older one,
so a storm of a hundred events for one issue costs one Slack call and the last state wins.
An issue that moved to another channel waits here as a delete of its old message; a
reminder waits on its issue's entry as a reply to post in the message's thread, the latest
one only, without changing the state the entry shows (a reminder changes nothing shown).
The entry also remembers the lowest `issue-events` offset it stands for, so the presenter
never commits an offset whose state has not reached Slack yet, and since when it waits, so
the longest-waiting goes first among equals.

Pacing: every Slack call of the channel takes a turn, at most one per `interval` seconds
(Slack's `chat.postMessage` limit is about one a second per channel), and a call of a
method Slack limits per workspace also waits for that method's token (`CallTurns`,
`workspace_budget`). A 429 on `chat.postMessage` blocks posting in this channel only until
its Retry-After has passed; the channel's other issues keep going meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.issue_state import IssueSnapshot
from gateways.slack.workspace_budget import Priority, WorkspaceBudget

# The Slack Web API methods the presenter calls, as Slack names them.
POST = "chat.postMessage"
UPDATE = "chat.update"
DELETE = "chat.delete"
HISTORY = "conversations.history"
REPLIES = "conversations.replies"


@dataclass
class Pending:
    issue: IssueSnapshot
    partition: int
    offset: int  # the offset of the event `issue` came from
    low_offset: int  # the lowest offset whose state has not reached Slack yet
    since: float = 0.0  # when it started waiting (the queue's clock)
    finish: bool = False  # the issue is archived: forget it once shown
    # The issue moved to another channel: delete its message here (at `old_ts` if known).
    delete: bool = False
    old_ts: str | None = None
    # A reminder (`IssueReminded` at this time) to reply in the message's thread; with
    # `reply_only`, the message itself shows the issue already and needs no update.
    remind_at: datetime | None = None
    reply_only: bool = False


class ChannelQueue:
    def __init__(
        self, channel: str, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.channel = channel
        self.interval = interval
        self._clock = clock
        self.pending: dict[str, Pending] = {}
        self.changed = asyncio.Event()
        self._next_turn = 0.0
        self._blocked_until: dict[str, float] = {}
        self.told_held_at: float | None = None  # when the channel was told its updates wait

    # -- what waits ----------------------------------------------------------------------

    def offer(self, issue: IssueSnapshot, partition: int, offset: int, finish: bool) -> None:
        entry = self.pending.get(issue.id)
        if entry is None:
            self.pending[issue.id] = Pending(
                issue, partition, offset, offset, self._clock(), finish
            )
        else:
            entry.issue, entry.offset, entry.partition = issue, offset, partition
            entry.finish = entry.finish or finish
            # It came back before its message here was deleted: show it in that message.
            entry.delete, entry.old_ts = False, None
            entry.reply_only = False
        self.changed.set()

    def offer_reminder(
        self, issue: IssueSnapshot, partition: int, offset: int, at: datetime
    ) -> None:
        """A reminder to reply under the issue's message; a state waiting stays as it is."""
        entry = self.pending.get(issue.id)
        if entry is None:
            entry = self.pending[issue.id] = Pending(
                issue, partition, offset, offset, self._clock(), reply_only=True
            )
        else:
            entry.offset, entry.partition = offset, partition
        entry.remind_at = at
        self.changed.set()

    def offer_delete(
        self, issue: IssueSnapshot, partition: int, offset: int, old_ts: str | None
    ) -> None:
        """The issue left this channel: whatever state waited here is replaced by a delete."""
        entry = self.pending.get(issue.id)
        if entry is None:
            entry = self.pending[issue.id] = Pending(
                issue, partition, offset, offset, self._clock()
            )
        else:
            entry.issue, entry.offset, entry.partition = issue, offset, partition
            entry.finish = False
        entry.delete, entry.old_ts = True, old_ts
        entry.remind_at, entry.reply_only = None, False
        self.changed.set()

    def finish_as_is(self, issue_id: str, partition: int, offset: int) -> bool:
        """Mark a pending entry to be forgotten once shown, keeping the state it shows."""
        entry = self.pending.get(issue_id)
        if entry is None:
            return False
        entry.offset, entry.partition, entry.finish = offset, partition, True
        return True

    def shown(self, entry: Pending, offset: int) -> None:
        """The state of `offset` reached Slack: done, unless a newer state arrived meanwhile."""
        current = self.pending.get(entry.issue.id)
        if current is None:
            return
        if current.offset == offset:
            del self.pending[entry.issue.id]
        else:
            # Later events of the issue all have higher offsets; move it to the back of the line.
            current.low_offset = offset + 1
            current.since = self._clock()

    def drop(self, issue_id: str) -> None:
        self.pending.pop(issue_id, None)

    def drop_partitions(self, partitions: set[int]) -> list[str]:
        """Forget what waits from these partitions (now another consumer's); their issue ids."""
        dropped = [i for i, e in self.pending.items() if e.partition in partitions]
        for issue_id in dropped:
            del self.pending[issue_id]
        return dropped

    def low_offsets(self) -> dict[int, int]:
        """Partition → lowest offset still waiting to be shown from this channel."""
        lows: dict[int, int] = {}
        for entry in self.pending.values():
            lows[entry.partition] = min(
                lows.get(entry.partition, entry.low_offset), entry.low_offset
            )
        return lows

    def candidates(
        self, method_of: Callable[[Pending], str], priority_of: Callable[[Pending], Priority]
    ) -> list[tuple[Pending, str, Priority]]:
        """The entries whose first call is not blocked by a 429, with that call's method,
        best first."""
        now = self._clock()
        found = [(entry, method_of(entry), priority_of(entry)) for entry in self.pending.values()]
        ready = [item for item in found if self._blocked_until.get(item[1], 0.0) <= now]
        return sorted(ready, key=lambda item: item[2])

    def waited(self) -> float:
        """How long the longest-waiting entry has waited, in seconds (0 when none waits)."""
        oldest = min((entry.since for entry in self.pending.values()), default=None)
        return 0.0 if oldest is None else self._clock() - oldest

    def blocked(self, method: str) -> bool:
        return self._blocked_until.get(method, 0.0) > self._clock()

    def held_notice_due(self, after: float, every: float) -> float | None:
        """In how many seconds the channel is to be told that its updates are held back
        (0: now): once its longest-waiting entry waited `after` seconds, at most once every
        `every` seconds. None while nothing waits."""
        if not self.pending:
            return None
        due = after - self.waited()
        if self.told_held_at is not None:
            due = max(due, self.told_held_at + every - self._clock())
        return max(due, 0.0)

    def told_held(self) -> None:
        self.told_held_at = self._clock()

    async def wait_for_work(self, at_most: float | None = None) -> None:
        """Until something new is offered, the earliest 429 block ends, or `at_most` s."""
        self.changed.clear()
        now = self._clock()
        ends = [until - now for until in self._blocked_until.values() if until > now]
        timeouts = ([min(ends)] if ends and self.pending else []) + (
            [at_most] if at_most is not None else []
        )
        try:
            async with asyncio.timeout(min(timeouts) if timeouts else None):
                await self.changed.wait()
        except TimeoutError:
            pass

    # -- pacing --------------------------------------------------------------------------

    async def turn(self) -> None:
        """Wait for the channel's next call slot and take it."""
        now = self._clock()
        start = max(now, self._next_turn)
        self._next_turn = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def block(self, method: str, seconds: float) -> None:
        self._blocked_until[method] = max(
            self._blocked_until.get(method, 0.0), self._clock() + seconds
        )


class PartitionGivenUp(Exception):
    """The channel's partition went to another presenter while a call waited for its turn:
    that one shows the channel now, and a post from here could be a second message."""


class CallTurns:
    """The turns one piece of work in a channel takes: the channel's pace for every call,
    and the workspace's token for the methods Slack limits per workspace. A call whose
    channel stopped being this presenter's while it waited is not made (`PartitionGivenUp`)."""

    def __init__(
        self,
        queue: ChannelQueue,
        budget: WorkspaceBudget,
        priority: Priority,
        still_ours: Callable[[], bool] = lambda: True,
    ) -> None:
        self.queue = queue
        self.channel = queue.channel
        self._budget = budget
        self._priority = priority
        self._still_ours = still_ours

    async def turn(self, method: str) -> None:
        await self.queue.turn()
        if self._budget.limited(method):
            await self._budget.take(method, self.channel, self._priority)
        if not self._still_ours():
            raise PartitionGivenUp
