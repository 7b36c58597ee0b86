"""The fold agent: Faust hands it batches of `alerts`, `ticks` and `interactions` records.

It only translates between Faust and the channels' actors (`channel_actors`), and makes each
batch's effects durable in an order that survives a crash at any point:

1. every record of the batch is decided in order against the state the earlier ones left
   (staged, not yet written), and its outputs are produced without waiting;
2. once the broker acknowledged all of them, the slots (issue state + offsets) and the
   bookmarks (`fold_progress`) are committed together.

A crash before 2. leaves events whose state was never written; `recovery` re-folds their
causes in logged order, into the same events with the same ids (the fold is deterministic),
which consumers drop as duplicates. A crash after the slots but before the bookmarks finds
the offsets in the slots and skips those records' effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import faust
from faust.types import Message
from mode import BaseSignalT

from agents.channel_actors import ChannelActors, InputTopics
from agents.fold_progress import FoldProgress
from agents.inputs import InputRecord
from agents.issue_table import SlotTable
from agents.outbox import Outbox
from agents.recovery import Recovery
from agents.topics import Topics
from domain.routing import RouteTable

# A batch is cut at this many records, or when no record came for this long: the wait bounds
# the latency a quiet channel sees, the size bounds the state held back from the tables.
BATCH_SIZE = 500
BATCH_WAIT_SECONDS = 0.005


class AlertFolder:
    """Folds the records of the partitions this worker owns, one batch at a time."""

    def __init__(
        self,
        *,
        table: SlotTable,
        progress: FoldProgress,
        topics: Topics,
        routes: RouteTable,
        partitions: int,
    ) -> None:
        self.inputs = InputTopics(
            topics.alerts_topic.get_topic_name(),
            topics.ticks_topic.get_topic_name(),
            topics.interactions_topic.get_topic_name(),
        )
        self.actors = ChannelActors(table, routes=routes, partitions=partitions, topics=self.inputs)
        self.progress = progress
        self.topics = topics
        self._outbox = Outbox(topics)
        self._events = topics.issue_events_topic.get_topic_name()
        self._recovery = Recovery(progress, self.inputs.all, self._events)

    async def handle(self, messages: Sequence[Message]) -> None:
        await self.handle_batch([InputRecord.of(m) for m in messages])

    async def handle_record(self, record: InputRecord) -> None:
        await self.handle_batch([record])

    async def handle_batch(self, records: Sequence[InputRecord]) -> None:
        """Fold the records in order; their state is committed once all outputs are acked."""
        try:
            for record in records:
                await self._handle(record)
            for partition, next_offset in (await self._outbox.settle()).items():
                self.progress.move(self._events, partition, next_offset)
            self.actors.commit()
            self.progress.commit()
        except BaseException:
            self.actors.discard()
            self.progress.discard()
            self._outbox.discard()
            self._recovery.forget()  # recovered from staged state that is now gone
            raise

    def forget_partitions(self) -> None:
        """Partitions moved: what was derived from their state is rebuilt when they return."""
        self.actors.deadlines.forget()
        self._recovery.forget()

    async def _handle(self, record: InputRecord) -> None:
        await self._recovery.ensure(record.partition, self._fold)
        missed = await self.progress.missed_before(record)
        if missed is None:
            return  # folded before: a redelivery
        for earlier in [*missed, record]:
            await self._fold(earlier)

    async def _fold(self, record: InputRecord) -> None:
        folded_before = self.progress.folded_before(record, self.inputs.all)
        for output in self.actors.fold(record, folded_before):
            await self._outbox.send(output)
        self.progress.advance(record)


def register_fold_agent(app: faust.App, topics: Topics, folder: AlertFolder) -> None:
    """One agent, concurrency 1: a second concurrent consumer could commit past an unfinished
    record (faust #606) and break per-channel order; scale with partitions instead."""

    @app.agent(topics.inputs_topic, name="fold_alerts", concurrency=1)
    async def fold_alerts(stream: faust.StreamT[bytes]) -> None:
        batches = cast(faust.Stream[bytes], stream).take_events(
            BATCH_SIZE, within=BATCH_WAIT_SECONDS
        )
        async for events in batches:
            await folder.handle([event.message for event in events])

    @app.on_partitions_revoked.connect
    async def forget_deadlines(
        sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any
    ) -> None:
        folder.forget_partitions()
