"""What one input record means for the issues table, before any effect.

Every kind of input is decided the same way: decode the record, check it sits on its
channel's partition (else it must be re-keyed there), read the slots it concerns and ask the
domain's fold. Nothing is written: the decision says which slots change, how, and what else
must be sent, and `channel_actors` applies it in the crash-safe order.

An alert and an interaction concern one slot; a hand-over the slot it arrives in; a silence
every slot of the partition; a tick the slots whose next deadline is due.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from agents.deadline_index import DeadlineIndex
from agents.inputs import InputRecord
from agents.issue_table import (
    Slot,
    SlotTable,
    channel_of,
    partition_for_channel,
    read_alerting_settings,
    read_silence_book,
    read_slot,
    slot_key,
    slot_keys_of,
)
from domain.alerting import AlertingSettings
from domain.channel import channel_for
from domain.deadlines import next_due
from domain.fold import (
    AlertReceived,
    Folded,
    InteractionReceived,
    IssueHandedOver,
    SilencesChanged,
    TickReceived,
    fold_alert,
    fold_handover,
    fold_interaction,
    fold_silences,
    fold_tick,
)
from domain.interactions import Interaction
from domain.routing import RouteTable
from domain.silence_book import SilenceBook
from wire.alerts import decode_alert, encode_alert
from wire.handovers import IssueHandover
from wire.partition_inputs import decode_partition_input
from wire.silences import SilenceSet
from wire.ticks import decode_tick

log = logging.getLogger("alertfold.fold")


@dataclass(frozen=True)
class Reroute:
    """The record is not on its channel's partition: put it there instead of folding it."""

    channel: str
    partition: int
    value: bytes


@dataclass(frozen=True)
class Change:
    """The fold's decision for one issue, on its channel's partition."""

    slot_key: str
    partition: int
    folded: Folded
    slot: Slot  # what the table holds once the events are durable

    @property
    def channel(self) -> str:
        return channel_of(self.slot_key)


@dataclass(frozen=True)
class Decision:
    """Everything one input decided; empty when it changes nothing (`note` says why)."""

    changes: tuple[Change, ...] = ()
    reroute: Reroute | None = None
    silence_book: tuple[int, SilenceBook] | None = None  # the partition's book after a silence
    # The partition's alerting settings, when a tick changed them.
    alerting_settings: tuple[int, AlertingSettings] | None = None
    note: str = ""


NOTHING = Decision()  # nothing to do, nothing worth a log line (e.g. already applied)


@dataclass(frozen=True)
class Partitioning:
    """What every decision needs to know besides the record: the table and the topology."""

    table: SlotTable
    routes: RouteTable
    partitions: int

    def partition_of(self, channel: str) -> int:
        return partition_for_channel(channel, self.partitions)


def decide_alert(
    record: InputRecord, at: Partitioning, folded_before: Mapping[str, int]
) -> Decision:
    envelope = decode_alert(record.value, datetime.fromtimestamp(record.timestamp, UTC))
    channel = channel_for(envelope.alert, at.routes)
    alert = envelope.alert.routed_to(channel)
    partition = at.partition_of(channel)
    if record.key != channel.encode() or record.partition != partition:
        return Decision(
            reroute=Reroute(channel, partition, encode_alert(alert, envelope.received_at))
        )
    key = slot_key(channel, alert.correlation_id)
    slot = read_slot(at.table, key)
    if slot is not None and slot.issue is None and slot.moved_to:
        moved_to = slot.moved_to  # the correlation id's issue moved: the alert follows it
        value = encode_alert(alert.routed_to(moved_to), envelope.received_at)
        return Decision(reroute=Reroute(moved_to, at.partition_of(moved_to), value))
    if slot is not None and slot.last_alert_offset >= record.offset:
        return NOTHING  # state saved, bookmark not yet: the effects are already durable
    received = AlertReceived(
        alert,
        record.position,
        envelope.received_at,
        folded_before,
        read_silence_book(at.table, partition).silences,
        read_alerting_settings(at.table, partition),
    )
    folded = fold_alert(slot.issue if slot else None, received)
    if not folded.events:
        return NOTHING
    after = (slot or Slot(issue=None, last_alert_offset=-1)).model_copy(
        update={"issue": folded.state, "last_alert_offset": record.offset}
    )
    return Decision((Change(key, partition, folded, after),))


def decide_partition_input(
    record: InputRecord, at: Partitioning, folded_before: Mapping[str, int]
) -> Decision:
    """An `interactions` record: an interaction, a silence or a moved issue's hand-over."""
    decoded = decode_partition_input(record.value)
    if isinstance(decoded, SilenceSet):
        return _decide_silence(record, decoded, at, folded_before)
    if isinstance(decoded, IssueHandover):
        return _decide_handover(record, decoded, at, folded_before)
    return _decide_interaction(record, decoded, at, folded_before)


def decide_tick(
    record: InputRecord,
    at: Partitioning,
    deadlines: DeadlineIndex,
    folded_before: Mapping[str, int],
) -> Decision:
    """Fire the due deadlines of the partition's issues, each issue on its own, and keep the
    alerting settings the tick carries for the partition's next issues."""
    decoded = decode_tick(record.value)
    settings = decoded.settings
    kept = settings == read_alerting_settings(at.table, record.partition)
    tick = TickReceived(
        at=decoded.at,
        position=record.position,
        folded_before=folded_before,
        silences=read_silence_book(at.table, record.partition).silences,
    )
    changes = []
    for key in deadlines.take_due(record.partition, tick.at):
        slot = read_slot(at.table, key)
        if slot is None or slot.issue is None:
            continue
        try:
            folded = None if slot.last_tick_offset >= record.offset else fold_tick(slot.issue, tick)
        except Exception:  # one issue's failure must not stop the others' deadlines
            log.exception("firing deadlines of %r at %s failed", key, record.where())
            folded = None
        if folded is None or not folded.events:
            # Nothing due after all, applied before a crash, or failed: retried next tick.
            deadlines.note(key, next_due(slot.issue))
            continue
        after = slot.model_copy(update={"issue": folded.state, "last_tick_offset": record.offset})
        changes.append(Change(key, record.partition, folded, after))
    return Decision(
        tuple(changes), alerting_settings=None if kept else (record.partition, settings)
    )


def _decide_interaction(
    record: InputRecord,
    interaction: Interaction,
    at: Partitioning,
    folded_before: Mapping[str, int],
) -> Decision:
    channel = interaction.channel_id
    partition = at.partition_of(channel)
    if record.key != channel.encode() or record.partition != partition:
        return Decision(reroute=Reroute(channel, partition, record.value or b""))
    key = slot_key(channel, interaction.correlation_id)
    slot = read_slot(at.table, key)
    if slot is not None and slot.last_interaction_offset >= record.offset:
        return NOTHING
    received = InteractionReceived(interaction, record.position, folded_before)
    folded = fold_interaction(slot.issue if slot else None, received)
    if slot is None or not folded.events:
        return Decision(note=folded.reason)
    after = slot.model_copy(
        update={"issue": folded.state, "last_interaction_offset": record.offset}
    )
    return Decision((Change(key, partition, folded, after),))


def _decide_silence(
    record: InputRecord,
    silence_set: SilenceSet,
    at: Partitioning,
    folded_before: Mapping[str, int],
) -> Decision:
    """Keep the silence in the partition's book and reconsider every issue against it."""
    partition = record.partition
    book = read_silence_book(at.table, partition).with_silence(
        silence_set.silence, at=silence_set.at
    )
    changed = SilencesChanged(book.silences, silence_set.at, record.position, folded_before)
    changes = []
    for key in slot_keys_of(at.table, partition, at.partitions):
        slot = read_slot(at.table, key)
        if slot is None or slot.issue is None or slot.last_interaction_offset >= record.offset:
            continue  # no live issue, or reconsidered before a crash
        folded = fold_silences(slot.issue, changed)
        if folded.events:
            after = slot.model_copy(
                update={"issue": folded.state, "last_interaction_offset": record.offset}
            )
            changes.append(Change(key, partition, folded, after))
    return Decision(tuple(changes), silence_book=(partition, book))


def _decide_handover(
    record: InputRecord,
    handover: IssueHandover,
    at: Partitioning,
    folded_before: Mapping[str, int],
) -> Decision:
    arriving = handover.issue
    channel = arriving.channel_id
    partition = at.partition_of(channel)
    if record.key != channel.encode() or record.partition != partition:
        return Decision(reroute=Reroute(channel, partition, record.value or b""))
    key = slot_key(channel, arriving.correlation_id)
    slot = read_slot(at.table, key) or Slot(issue=None, last_alert_offset=-1)
    if slot.last_interaction_offset >= record.offset:
        return NOTHING
    if slot.moved_issue_id == arriving.id and arriving.version <= slot.moved_issue_version:
        return Decision(note=f"issue {arriving.id} arrived here before and has moved on")
    received = IssueHandedOver(
        arriving,
        handover.from_channel_id,
        handover.reason,
        handover.at,
        record.position,
        folded_before,
    )
    folded = fold_handover(slot.issue, received)
    if not folded.events:
        return Decision(note=folded.reason)
    took_slot = folded.state is not None and folded.state.id == arriving.id
    after = slot.model_copy(
        update={
            "issue": folded.state,
            "last_interaction_offset": record.offset,
            "moved_to": None if took_slot else slot.moved_to,
        }
    )
    return Decision((Change(key, partition, folded, after),))
