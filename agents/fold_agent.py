"""The fold agent: reads `alerts` and `ticks`, folds them into issues, writes `issue-events`.

It only translates. The decisions are `domain.fold`'s (`fold_alert`, `fold_tick`); this
module decodes the record, checks an alert sits on its channel's partition, finds the issues
a tick must look at (`DeadlineIndex`), calls the fold, and makes the effects durable in an
order that survives a crash at any point:

1. the new events are produced and acknowledged by the broker;
2. then the slot (issue state + this record's offset) is written to the table;
3. then the partition's bookmark moves past the record (see `fold_progress`).

Records come in batches: every record of a batch is decided in order, against the state
the earlier ones left (`StagedTable`), its events produced without waiting; once the broker
acknowledged all of the batch's events, slots and bookmarks are committed together. A crash
before that leaves events whose state was never written, and the worker's recovery re-folds
their causes in logged order, into the same events with the same ids (the fold is
deterministic), which consumers drop as duplicates; a crash after the slots but before the
bookmarks finds the offsets in the slots and skips those records' effects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

import faust
from faust.types import Message
from mode import BaseSignalT

from agents.deadline_index import DeadlineIndex
from agents.fold_progress import FoldProgress, InputRecord
from agents.input_decisions import (
    Decided,
    Ignored,
    Reroute,
    SilenceToFold,
    decide_alert,
    decide_interaction,
)
from agents.input_order import decisions_in, fold_plan
from agents.issue_table import (
    Slot,
    SlotTable,
    channel_of,
    is_slot_key,
    partition_for_channel,
    partition_of_key,
    read_silence_book,
    read_slot,
    write_silence_book,
    write_slot,
)
from agents.outbox import Outbox
from agents.staged_table import StagedTable
from agents.topics import Topics
from domain.deadlines import next_due
from domain.errors import DomainError
from domain.fold import FoldOutcome, SilencesChanged, TickReceived, fold_silences, fold_tick
from domain.issue_state import IssueState
from domain.records import InputPosition, IssueEventRecord
from domain.routing import RouteTable
from wire.envelope import UndecodableInput
from wire.handovers import IssueHandover, encode_handover
from wire.issue_events import decode_issue_event, encode_issue_event
from wire.silences import SilenceSet
from wire.ticks import decode_tick

log = logging.getLogger("alertfold.fold")

# A batch is cut at this many records, or when no record came for this long: the wait bounds
# the latency a quiet channel sees, the size bounds the state held back from the tables.
BATCH_SIZE = 500
BATCH_WAIT_SECONDS = 0.005
# Well above what one commit interval can leave unstated (about a second of folding).
CATCH_UP_LIMIT = 10_000


class AlertFolder:
    """Handles one input record at a time, for the partitions this worker owns."""

    def __init__(
        self,
        *,
        table: SlotTable,
        progress: FoldProgress,
        topics: Topics,
        routes: RouteTable,
        partitions: int,
    ) -> None:
        self._table = StagedTable(table)
        self._progress = progress
        self._outbox = Outbox(topics)
        self._topics = topics
        self._routes = routes
        self._partitions = partitions
        self._alerts = topics.alerts_topic.get_topic_name()
        self._ticks = topics.ticks_topic.get_topic_name()
        self._interactions = topics.interactions_topic.get_topic_name()
        self._events = topics.issue_events_topic.get_topic_name()
        self.deadlines = DeadlineIndex(self._table.items, partitions)
        self._recovered: set[int] = set()

    @property
    def _inputs(self) -> tuple[str, ...]:
        return self._alerts, self._ticks, self._interactions

    async def handle(self, messages: Sequence[Message]) -> None:
        await self.handle_batch([InputRecord.from_faust(m) for m in messages])

    async def handle_record(self, record: InputRecord) -> None:
        await self.handle_batch([record])

    async def handle_batch(self, records: Sequence[InputRecord]) -> None:
        """Fold the records in order; their state is committed once all events are acked."""
        try:
            for record in records:
                await self._handle(record)
            await self._settle()
        except BaseException:
            self._table.discard()
            self._progress.discard()
            self._outbox.discard()
            self.forget_partitions()  # derived from staged state that is now gone
            raise

    async def _settle(self) -> None:
        """Wait for every event of the batch, then commit the state that depends on them."""
        for partition, next_offset in (await self._outbox.settle()).items():
            self._progress.move(self._events, partition, next_offset)
        self._table.commit()
        self._progress.commit()

    async def _handle(self, record: InputRecord) -> None:
        if record.partition not in self._recovered:
            await self._recover(record.partition)
            self._recovered.add(record.partition)
        missed = await self._progress.missed_before(record)
        if missed is None:
            return  # folded before: a redelivery
        for earlier in [*missed, record]:
            await self._fold_and_advance(earlier)

    def forget_partitions(self) -> None:
        """Partitions moved: what was derived from their state is rebuilt when they return."""
        self.deadlines.forget()
        self._recovered.clear()

    async def _fold_and_advance(self, record: InputRecord) -> None:
        await self._fold(record)
        self._progress.advance(record)

    async def _recover(self, partition: int) -> None:
        """Re-fold, in their logged order, the decisions whose state a crash lost.

        Their events reached `issue-events` but the table writes after them did not. Folding
        their causes again from the recovered state, in the order the log shows and before
        any other input, repeats them exactly (same events, same ids: duplicates that
        consumers drop) instead of deciding differently in another order.
        """
        gaps = self._progress.gaps
        stated = self._progress.position(self._events, partition) or 0
        tail = await gaps.read_to_end(self._events, partition, stated)
        cursors = {topic: self._progress.position(topic, partition) or 0 for topic in self._inputs}
        plan = fold_plan(decisions_in(_decoded(tail)), cursors, self._inputs)
        for step in plan:
            for record in await gaps.read(step.topic, partition, step.start, step.end):
                await self._fold_and_advance(record)
        if plan:
            log.warning(
                "partition %d: re-folded %d input range(s) whose decisions were written "
                "but not yet stated when the worker stopped",
                partition,
                len(plan),
            )
        await self._catch_up(partition)

    async def _catch_up(self, partition: int) -> None:
        """Fold what lies past the bookmarks now, rather than when Faust hands more over.

        Faust may have committed offsets past records whose state a crash lost; it will not
        deliver them again, and without a later record on the same topic and partition the
        gap would never be noticed. Reading the partitions from the bookmarks closes it at
        once (records Faust delivers later are then recognised as redeliveries). The gap is
        at most what was processed in the last commit interval, so the read is bounded; the
        rest of a backlog comes through Faust as usual. A partition never folded before has
        no bookmark and no gap.
        """
        gaps = self._progress.gaps
        for topic in self._inputs:
            start = self._progress.position(topic, partition)
            if start is None:
                continue
            records = await gaps.read_to_end(topic, partition, start, limit=CATCH_UP_LIMIT)
            for record in records:
                await self._fold_and_advance(record)
            if records:
                log.info("partition %d: caught up %d %s record(s)", partition, len(records), topic)

    async def _fold(self, record: InputRecord) -> None:
        try:
            if record.topic == self._ticks:
                await self._fold_tick(record)
                return
            folded_before = self._progress.folded_before(record, self._inputs)
            if record.topic == self._interactions:
                decision = decide_interaction(record, self._table, self._partitions, folded_before)
            else:
                decision = decide_alert(
                    record, self._table, self._routes, self._partitions, folded_before
                )
        except UndecodableInput as error:
            await self._outbox.dead_letter(record, error.reason, error.problems)
            return
        except DomainError as error:
            await self._outbox.dead_letter(record, str(error), [])
            return
        except Exception as error:  # a bug must not stall every other alert of the channel
            log.exception("folding the record at %s failed", _where(record))
            await self._outbox.dead_letter(record, f"internal error while folding: {error!r}", [])
            return
        if isinstance(decision, Reroute):
            await self._reroute(record, decision)
        elif isinstance(decision, SilenceToFold):
            await self._fold_silence(record, decision.silence_set, folded_before)
        elif isinstance(decision, Decided):
            await self._apply(record, decision)
        elif isinstance(decision, Ignored):
            log.info("ignored the input at %s: %s", _where(record), decision.reason)

    async def _fold_tick(self, record: InputRecord) -> None:
        """Fire the due deadlines of this partition's issues, one issue at a time."""
        at = decode_tick(record.value)
        tick = TickReceived(
            at=at,
            position=InputPosition(
                topic=record.topic, partition=record.partition, offset=record.offset
            ),
            folded_before=self._progress.folded_before(record, self._inputs),
            silences=read_silence_book(self._table, record.partition).silences,
        )
        for key in self.deadlines.take_due(record.partition, at):
            slot = read_slot(self._table, key)
            if slot is None or slot.issue is None:
                continue
            if slot.last_tick_offset >= record.offset:
                self.deadlines.note(key, next_due(slot.issue))
                continue  # applied before a crash; only the bookmark was lost
            try:
                await self._fire_deadlines(record, tick, key, slot)
            except Exception:  # one issue's failure must not stop the others' deadlines
                log.exception("firing deadlines of %r at %s failed", key, _where(record))
                self.deadlines.note(key, next_due(slot.issue))  # retried on the next tick

    async def _fire_deadlines(
        self, record: InputRecord, tick: TickReceived, key: str, slot: Slot
    ) -> None:
        assert slot.issue is not None
        folded = fold_tick(slot.issue, tick)
        if not folded.events:
            self.deadlines.note(key, next_due(slot.issue))
            return
        after = slot.model_copy(update={"issue": folded.state, "last_tick_offset": record.offset})
        await self._apply(record, Decided(channel_of(key), record.partition, key, folded, after))

    async def _fold_silence(
        self, record: InputRecord, silence_set: SilenceSet, folded_before: dict[str, int]
    ) -> None:
        """Keep the silence in the partition's book and reconsider every issue against it."""
        partition = record.partition
        book = read_silence_book(self._table, partition)
        book = book.with_silence(silence_set.silence, at=silence_set.at)
        write_silence_book(self._table, partition, book)
        position = InputPosition(topic=record.topic, partition=partition, offset=record.offset)
        changed = SilencesChanged(book.silences, silence_set.at, position, folded_before)
        for key in self._slot_keys(partition):  # every live issue not yet past the record
            slot = read_slot(self._table, key)
            if slot is None or slot.issue is None or slot.last_interaction_offset >= record.offset:
                continue
            folded = fold_silences(slot.issue, changed)
            if folded.events:
                after = slot.model_copy(
                    update={"issue": folded.state, "last_interaction_offset": record.offset}
                )
                await self._apply(record, Decided(channel_of(key), partition, key, folded, after))

    def _slot_keys(self, partition: int) -> list[str]:
        return sorted(
            key
            for key in self._table
            if is_slot_key(key) and partition_of_key(key, self._partitions) == partition
        )

    async def _reroute(self, record: InputRecord, reroute: Reroute) -> None:
        same_topic = (
            self._topics.interactions_topic
            if record.topic == self._interactions
            else self._topics.alerts_topic
        )
        await self._outbox.send(
            same_topic,
            key=reroute.channel.encode(),
            value=reroute.value,
            partition=reroute.partition,
        )
        log.info(
            "re-keyed the record at %s onto channel %s (partition %d)",
            _where(record),
            reroute.channel,
            reroute.partition,
        )

    async def _apply(self, record: InputRecord, decided: Decided) -> None:
        """Events first, acknowledged; only then the state that remembers them."""
        folded = decided.folded
        for event in folded.events:
            await self._outbox.send(
                self._topics.issue_events_topic,
                key=decided.channel.encode(),
                value=encode_issue_event(event),
                partition=decided.partition,
                timestamp=record.timestamp,
            )
        slot = decided.slot
        if folded.moved is not None:
            moved = folded.moved
            await self._hand_over(moved, folded.events)
            slot = slot.model_copy(
                update={
                    "moved_to": moved.channel_id,
                    "moved_issue_id": moved.id,
                    "moved_issue_version": moved.version,
                }
            )
        write_slot(self._table, decided.slot_key, slot)
        self.deadlines.note(decided.slot_key, next_due(folded.state))
        if folded.outcome is not FoldOutcome.GROUPED:
            first = folded.events[0]
            log.info(
                "%s issue %s in %s (%s)",
                folded.outcome,
                first.issue_id,
                decided.channel,
                first.correlation_id,
            )

    async def _hand_over(self, moved: IssueState, events: list[IssueEventRecord]) -> None:
        """Send the moved issue to its new channel's partition, where it is folded in order
        with that channel's inputs. A re-fold sends it again; the arrival is recognised."""
        move = next(e for e in events if e.type == "IssueMoved")
        handover = IssueHandover(
            issue=moved,
            from_channel_id=str(move.data.get("from_channel_id") or ""),
            reason=str(move.data.get("reason") or ""),
            at=move.occurred_at,
        )
        await self._outbox.send(
            self._topics.interactions_topic,
            key=moved.channel_id.encode(),
            value=encode_handover(handover),
            partition=partition_for_channel(moved.channel_id, self._partitions),
        )


def _decoded(records: list[InputRecord]) -> list[IssueEventRecord]:
    events = []
    for record in records:
        try:
            events.append(decode_issue_event(record.value))
        except UndecodableInput:
            log.warning("skipped an undecodable issue event at %s", _where(record))
    return events


def _where(position: InputRecord) -> str:
    return f"{position.topic}[{position.partition}]@{position.offset}"


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
