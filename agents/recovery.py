"""After a restart or a rebalance: bring a partition's state level with what was written.

The worker commits a batch's state only after the broker acknowledged its events, so a crash
in between leaves events on `issue-events` whose state was lost, and Faust may have committed
its offsets past records whose effects were never made durable. Before a partition's first
record is folded, recovery therefore

1. re-folds, in the order the log records, the decisions whose events were written but not
   yet stated (same events, same ids: duplicates that consumers drop), instead of deciding
   them again in another order; then
2. folds what lies past the bookmarks in every input, which Faust would not deliver again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agents.fold_progress import FoldProgress
from agents.input_order import decisions_in, fold_plan
from agents.inputs import InputRecord
from domain.records import IssueEventRecord
from wire.envelope import UndecodableInput
from wire.issue_events import decode_issue_event

log = logging.getLogger("alertfold.fold")

# Well above what one commit interval can leave unstated (about a second of folding).
CATCH_UP_LIMIT = 10_000

FoldOne = Callable[[InputRecord], Awaitable[None]]


class Recovery:
    def __init__(self, progress: FoldProgress, inputs: tuple[str, ...], events_topic: str) -> None:
        self._progress = progress
        self._inputs = inputs
        self._events = events_topic
        self._recovered: set[int] = set()

    async def ensure(self, partition: int, fold: FoldOne) -> None:
        """Recover the partition once, before its first record is folded."""
        if partition in self._recovered:
            return
        await self._refold_unstated(partition, fold)
        await self._catch_up(partition, fold)
        self._recovered.add(partition)

    def forget(self) -> None:
        """Partitions moved: each is recovered again when it comes back."""
        self._recovered.clear()

    async def _refold_unstated(self, partition: int, fold: FoldOne) -> None:
        gaps = self._progress.gaps
        stated = self._progress.position(self._events, partition) or 0
        tail = await gaps.read_to_end(self._events, partition, stated)
        cursors = {topic: self._progress.position(topic, partition) or 0 for topic in self._inputs}
        plan = fold_plan(decisions_in(_decoded(tail)), cursors, self._inputs)
        for step in plan:
            for record in await gaps.read(step.topic, partition, step.start, step.end):
                await fold(record)
        if plan:
            log.warning(
                "partition %d: re-folded %d input range(s) whose decisions were written "
                "but not yet stated when the worker stopped",
                partition,
                len(plan),
            )

    async def _catch_up(self, partition: int, fold: FoldOne) -> None:
        """Fold what lies past the bookmarks now, rather than when Faust hands more over.

        Without a later record on the same topic and partition the gap would never be
        noticed. The gap is at most what was processed in the last commit interval, so the
        read is bounded; the rest of a backlog comes through Faust as usual, recognised as
        redeliveries. A partition never folded before has no bookmark and no gap.
        """
        gaps = self._progress.gaps
        for topic in self._inputs:
            start = self._progress.position(topic, partition)
            if start is None:
                continue
            records = await gaps.read_to_end(topic, partition, start, limit=CATCH_UP_LIMIT)
            for record in records:
                await fold(record)
            if records:
                log.info("partition %d: caught up %d %s record(s)", partition, len(records), topic)


def _decoded(records: list[InputRecord]) -> list[IssueEventRecord]:
    events = []
    for record in records:
        try:
            events.append(decode_issue_event(record.value))
        except UndecodableInput:
            log.warning("skipped an undecodable issue event at %s", record.where())
    return events
