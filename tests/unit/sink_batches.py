"""Batches as the issue-event reader hands them to a sink, built from plain event lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.records import IssueEventRecord
from projections.issue_event_reading import Record

TOPIC = "issue-events"


def batch(
    events: Iterable[IssueEventRecord], partitions: int = 2, after: Mapping[int, int] | None = None
) -> tuple[list[Record], dict[int, int]]:
    """The events as `(partition, offset, event)`, each channel on one partition (channels in
    turn, as they first appear), going on from the offsets `after`; and the next offsets.
    """
    next_offsets = dict(after or {})
    channels: dict[str, int] = {}
    records: list[Record] = []
    for event in events:
        partition = channels.setdefault(event.channel_id, len(channels) % partitions)
        offset = next_offsets.get(partition, 0)
        records.append(Record.of(partition, offset, event))
        next_offsets[partition] = offset + 1
    return records, next_offsets
