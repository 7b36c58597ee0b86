"""The fold's state: one entry per (channel, correlation id), plus each partition's own.

An entry's partition is derived from the channel id inside its key, with the same murmur2
partitioner producers use for `alerts`, so an entry always lives on its channel's partition
(in the worker's memory and on the `fold-state` topic) whatever input changed it; taking a
partition over then hands a worker exactly the state of the channels it owns.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import MutableMapping

from aiokafka.partitioner import DefaultPartitioner
from pydantic import BaseModel, ConfigDict

from domain.alerting import OFF, AlertingSettings
from domain.issue_state import IssueState
from domain.silence_book import SilenceBook

_SEPARATOR = "\x1f"  # ASCII unit separator: never valid in a channel id
# ASCII record separator: starts the keys of a partition's own state (its silences, its
# alerting settings).
_PARTITION_STATE = "\x1e"


def slot_key(channel_id: str, correlation_id: str) -> str:
    return f"{channel_id}{_SEPARATOR}{correlation_id}"


def channel_of(key: str) -> str:
    return key.split(_SEPARATOR, 1)[0]


def silence_book_key(partition: int) -> str:
    return f"{_PARTITION_STATE}silences{_SEPARATOR}{partition}"


def alerting_settings_key(partition: int) -> str:
    return f"{_PARTITION_STATE}alerting{_SEPARATOR}{partition}"


def is_slot_key(key: str) -> bool:
    return not key.startswith(_PARTITION_STATE)


def partition_of_key(key: str, partitions: int) -> int:
    """The partition an entry lives on: its channel's, or the one a partition key names."""
    if not is_slot_key(key):
        return int(key.rsplit(_SEPARATOR, 1)[1])
    return partition_for_channel(channel_of(key), partitions)


def slot_keys_of(table: SlotTable, partition: int, partitions: int) -> list[str]:
    """The keys of the partition's issue slots, in a fixed order (a re-fold repeats it)."""
    return sorted(
        key for key in table if is_slot_key(key) and partition_of_key(key, partitions) == partition
    )


@functools.lru_cache(maxsize=65_536)
def partition_for_channel(channel_id: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner picks for this channel key
    (asked for every input, and hashed in Python: remembered per channel)."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(channel_id.encode(), every, every))


class Slot(BaseModel):
    """A correlation id's issue, plus the last offset of each input folded into it.

    The offsets let an input re-folded after a crash (between saving state and moving the
    bookmark) be recognised and skipped for this issue instead of applied twice.
    """

    model_config = ConfigDict(frozen=True)

    issue: IssueState | None
    last_alert_offset: int
    last_tick_offset: int = -1
    last_interaction_offset: int = -1
    # The issue moved to this channel: later alerts for the correlation id follow it there.
    moved_to: str | None = None
    # Which issue left, at which version: a hand-over of it repeated later is recognised.
    moved_issue_id: str | None = None
    moved_issue_version: int = 0


# The issues table as the fold uses it: a partition's entries, as JSON bytes.
SlotTable = MutableMapping[str, bytes]


def read_slot(table: SlotTable, key: str) -> Slot | None:
    raw = table.get(key)
    if not raw:
        return None
    slot = _PARSED.get(raw)
    if slot is None:
        slot = _remember(raw, Slot.model_validate_json(raw))
    return slot


# Slots are immutable, and a busy issue's slot is read right after it was written: the
# bytes written last map to the slot they were made from, so reading them parses nothing.
# An OrderedDict: a plain dict's oldest key, found by iterating, is found after walking
# past every key deleted before it.
_PARSED: OrderedDict[bytes, Slot] = OrderedDict()
_PARSED_LIMIT = 4096


def _remember(raw: bytes, slot: Slot) -> Slot:
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.popitem(last=False)  # the oldest
    _PARSED[raw] = slot
    return slot


def write_slot(table: SlotTable, key: str, slot: Slot) -> None:
    """Store the slot; a slot with neither an issue nor a move mapping is removed."""
    if slot.issue is None and slot.moved_to is None:
        if key in table:
            del table[key]
        return
    raw = slot.model_dump_json().encode()
    _remember(raw, slot)
    table[key] = raw


def read_silence_book(table: SlotTable, partition: int) -> SilenceBook:
    """Read for every alert, changed rarely: parsed once per distinct value."""
    raw = table.get(silence_book_key(partition))
    return _parsed_book(raw) if raw else _EMPTY_BOOK


_EMPTY_BOOK = SilenceBook()


@functools.lru_cache(maxsize=256)
def _parsed_book(raw: bytes) -> SilenceBook:
    return SilenceBook.model_validate_json(raw)


def write_silence_book(table: SlotTable, partition: int, book: SilenceBook) -> None:
    table[silence_book_key(partition)] = book.model_dump_json().encode()


def read_alerting_settings(table: SlotTable, partition: int) -> AlertingSettings:
    """The settings of the partition's latest tick (`domain.alerting`)."""
    raw = table.get(alerting_settings_key(partition))
    return _parsed_settings(raw) if raw else OFF


@functools.lru_cache(maxsize=256)
def _parsed_settings(raw: bytes) -> AlertingSettings:
    return AlertingSettings.model_validate_json(raw)


def write_alerting_settings(table: SlotTable, partition: int, settings: AlertingSettings) -> None:
    table[alerting_settings_key(partition)] = settings.model_dump_json().encode()


def alerting_settings_of(
    settings: AlertingSettings, partition: int, partitions: int
) -> AlertingSettings:
    """The settings the partition's ticks carry: of the channels with a reminder interval of
    their own, only those on the partition, where their issues open."""
    return settings.for_channels(
        lambda channel: partition_for_channel(channel, partitions) == partition
    )
