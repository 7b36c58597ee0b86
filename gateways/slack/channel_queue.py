"""One channel's share of the presenter: what is waiting to be shown, and when it may call.

Coalescing: each issue has at most one pending entry; a newer state replaces the older one,
so a storm of a hundred events for one issue costs one Slack call and the last state wins.
An issue that moved to another channel waits here as a delete of its old message.
The entry also remembers the lowest `issue-events` offset it stands for, so the presenter
never commits an offset whose state has not reached Slack yet.

Pacing: every Slack call of the channel takes a turn, at most one per `interval` seconds.
A 429 blocks only the method that got it (posting, updating or deleting) in this channel
until its Retry-After has passed; the channel's other issues keep going meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from domain.issue_state import IssueSnapshot

POST = "post"
UPDATE = "update"
DELETE = "delete"


@dataclass
class Pending:
    issue: IssueSnapshot
    partition: int
    offset: int  # the offset of the event `issue` came from
    low_offset: int  # the lowest offset whose state has not reached Slack yet
    finish: bool = False  # the issue is archived: forget it once shown
    # The issue moved to another channel: delete its message here (at `old_ts` if known).
    delete: bool = False
    old_ts: str | None = None


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

    # -- what waits ----------------------------------------------------------------------

    def offer(self, issue: IssueSnapshot, partition: int, offset: int, finish: bool) -> None:
        entry = self.pending.get(issue.id)
        if entry is None:
            self.pending[issue.id] = Pending(issue, partition, offset, offset, finish)
        else:
            entry.issue, entry.offset, entry.partition = issue, offset, partition
            entry.finish = entry.finish or finish
            # It came back before its message here was deleted: show it in that message.
            entry.delete, entry.old_ts = False, None
        self.changed.set()

    def offer_delete(
        self, issue: IssueSnapshot, partition: int, offset: int, old_ts: str | None
    ) -> None:
        """The issue left this channel: whatever state waited here is replaced by a delete."""
        entry = self.pending.get(issue.id)
        if entry is None:
            entry = self.pending[issue.id] = Pending(issue, partition, offset, offset)
        else:
            entry.issue, entry.offset, entry.partition = issue, offset, partition
            entry.finish = False
        entry.delete, entry.old_ts = True, old_ts
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
            self.pending[entry.issue.id] = self.pending.pop(entry.issue.id)

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

    def next_entry(self, method_of: Callable[[Pending], str]) -> Pending | None:
        """The longest-waiting entry whose call is not blocked by a 429, if any."""
        now = self._clock()
        for entry in self.pending.values():
            if self._blocked_until.get(method_of(entry), 0.0) <= now:
                return entry
        return None

    async def wait_for_work(self) -> None:
        """Until something new is offered or the earliest 429 block ends."""
        self.changed.clear()
        blocks = [until for until in self._blocked_until.values() if until > self._clock()]
        timeout = (min(blocks) - self._clock()) if blocks and self.pending else None
        try:
            async with asyncio.timeout(timeout):
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
