"""What an `alerts` or `interactions` record means for the issues table, before any effect.

Each function decodes the record, checks it sits on its channel's partition (else it must be
re-keyed there), reads the one slot it concerns and asks the domain's fold. Nothing is
written: the fold agent makes the decision durable in its crash-safe order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from agents.fold_progress import InputRecord
from agents.issue_table import (
    Slot,
    SlotTable,
    partition_for_channel,
    read_silence_book,
    read_slot,
    slot_key,
)
from domain.channel import channel_for
from domain.fold import (
    AlertReceived,
    Folded,
    InteractionReceived,
    IssueHandedOver,
    fold_alert,
    fold_handover,
    fold_interaction,
)
from domain.records import InputPosition
from domain.routing import RouteTable
from wire.alerts import decode_alert, encode_alert
from wire.handovers import IssueHandover
from wire.partition_inputs import decode_partition_input
from wire.silences import SilenceSet


@dataclass(frozen=True)
class Reroute:
    """The record is not on its channel's partition: put it there instead of folding it."""

    channel: str
    partition: int
    value: bytes


@dataclass(frozen=True)
class Decided:
    """The fold's decision for one issue, on its channel's partition."""

    channel: str
    partition: int
    slot_key: str
    folded: Folded
    slot: Slot  # what the table holds once the events are durable


@dataclass(frozen=True)
class SilenceToFold:
    """A silence, for every issue of the partition: the fold agent goes through them."""

    silence_set: SilenceSet


@dataclass(frozen=True)
class Ignored:
    """The input changes nothing; `reason` says why, for the log."""

    reason: str


Decision = Reroute | Decided | SilenceToFold | Ignored | None


def decide_alert(
    record: InputRecord,
    table: SlotTable,
    routes: RouteTable,
    partitions: int,
    folded_before: Mapping[str, int],
) -> Decision:
    envelope = decode_alert(record.value, datetime.fromtimestamp(record.timestamp, UTC))
    channel = channel_for(envelope.alert, routes)
    alert = envelope.alert.routed_to(channel)
    partition = partition_for_channel(channel, partitions)
    if record.key != channel.encode() or record.partition != partition:
        return Reroute(channel, partition, encode_alert(alert, envelope.received_at))
    key = slot_key(channel, alert.correlation_id)
    slot = read_slot(table, key)
    if slot is not None and slot.issue is None and slot.moved_to:
        moved_to = slot.moved_to  # the correlation id's issue moved: the alert follows it
        target = partition_for_channel(moved_to, partitions)
        return Reroute(
            moved_to, target, encode_alert(alert.routed_to(moved_to), envelope.received_at)
        )
    if slot is not None and slot.last_alert_offset >= record.offset:
        return None  # state saved, bookmark not yet: the effects are already durable
    silences = read_silence_book(table, partition).silences
    received = AlertReceived(
        alert, _position(record), envelope.received_at, folded_before, silences
    )
    folded = fold_alert(slot.issue if slot else None, received)
    if not folded.events:
        return None
    after = (slot or Slot(issue=None, last_alert_offset=-1)).model_copy(
        update={"issue": folded.state, "last_alert_offset": record.offset}
    )
    return Decided(channel, partition, key, folded, after)


def decide_interaction(
    record: InputRecord, table: SlotTable, partitions: int, folded_before: Mapping[str, int]
) -> Decision:
    decoded = decode_partition_input(record.value)
    if isinstance(decoded, SilenceSet):
        return SilenceToFold(decoded)
    if isinstance(decoded, IssueHandover):
        return _decide_handover(record, decoded, table, partitions, folded_before)
    interaction = decoded
    channel = interaction.channel_id
    partition = partition_for_channel(channel, partitions)
    if record.key != channel.encode() or record.partition != partition:
        return Reroute(channel, partition, record.value or b"")
    key = slot_key(channel, interaction.correlation_id)
    slot = read_slot(table, key)
    if slot is not None and slot.last_interaction_offset >= record.offset:
        return None
    received = InteractionReceived(interaction, _position(record), folded_before)
    folded = fold_interaction(slot.issue if slot else None, received)
    if slot is None or not folded.events:
        return Ignored(folded.reason)
    after = slot.model_copy(
        update={"issue": folded.state, "last_interaction_offset": record.offset}
    )
    return Decided(channel, partition, key, folded, after)


def _decide_handover(
    record: InputRecord,
    handover: IssueHandover,
    table: SlotTable,
    partitions: int,
    folded_before: Mapping[str, int],
) -> Decision:
    arriving = handover.issue
    channel = arriving.channel_id
    partition = partition_for_channel(channel, partitions)
    if record.key != channel.encode() or record.partition != partition:
        return Reroute(channel, partition, record.value or b"")
    key = slot_key(channel, arriving.correlation_id)
    slot = read_slot(table, key) or Slot(issue=None, last_alert_offset=-1)
    if slot.last_interaction_offset >= record.offset:
        return None
    if slot.moved_issue_id == arriving.id and arriving.version <= slot.moved_issue_version:
        return Ignored(f"issue {arriving.id} arrived here before and has moved on")
    received = IssueHandedOver(
        arriving,
        handover.from_channel_id,
        handover.reason,
        handover.at,
        _position(record),
        folded_before,
    )
    folded = fold_handover(slot.issue, received)
    if not folded.events:
        return Ignored(folded.reason)
    took_slot = folded.state is not None and folded.state.id == arriving.id
    after = slot.model_copy(
        update={
            "issue": folded.state,
            "last_interaction_offset": record.offset,
            "moved_to": None if took_slot else slot.moved_to,
        }
    )
    return Decided(channel, partition, key, folded, after)


def _position(record: InputRecord) -> InputPosition:
    return InputPosition(topic=record.topic, partition=record.partition, offset=record.offset)
