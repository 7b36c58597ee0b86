"""Reading `issue-events`: clients, partitions, decoding, bounds.

Shared by the one reader of the topic (`projections.issue_event_reader`) and by `alertfold
replay`, which reads every partition itself (no consumer group).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from domain.records import IssueEventRecord
from infra.kafka_clients import KafkaConnection
from infra.logs import one_line
from wire.envelope import UndecodableInput
from wire.issue_events import decode_issue_event, encode_issue_event

log = logging.getLogger(__name__)


class Record(NamedTuple):
    """One issue event as read: where it sits, the event, and the value's text as read
    (which the audit store keeps, rather than writing the event out again)."""

    partition: int
    offset: int
    event: IssueEventRecord
    text: str

    @classmethod
    def of(cls, partition: int, offset: int, event: IssueEventRecord) -> Record:
        """The record of `event` as the fold writes it."""
        return cls(partition, offset, event, encode_issue_event(event).decode())


def batch_positions(records: Sequence[Record], next_offsets: Mapping[int, int]) -> dict[int, int]:
    """Where a batch leaves each partition: past its last record, or at `next_offsets` when
    that is further (records the consumer skipped: undecodable values, transaction markers)."""
    positions: dict[int, int] = {}
    for record in records:
        positions[record.partition] = max(positions.get(record.partition, 0), record.offset + 1)
    for partition, offset in next_offsets.items():
        positions[partition] = max(positions.get(partition, 0), offset)
    return positions


def reader_clients(
    kafka: KafkaConnection, client_id: str, *, group_id: str | None = None
) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
    """An unstarted consumer (reads committed records only, commits no offsets: positions
    are the sink's) and admin client. With a `group_id` the group only shares partitions."""
    consumer = AIOKafkaConsumer(
        **kafka.options,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Only committed transactions: the fold may write with Kafka transactions.
        isolation_level="read_committed",
    )
    admin = AIOKafkaAdminClient(**kafka.options, client_id=client_id)
    return consumer, admin


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop the consumer; only a cancellation of the caller itself propagates.

    aiokafka 0.14's `stop()` cancels its pending fetch tasks and awaits them, so it raises
    their `CancelledError` when the broker went away mid-fetch. Let through, that ends a
    reader's reconnect loop (and its process) at the first broker outage.
    """
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.debug("stopping the consumer surfaced its own fetch's cancellation; ignored")


async def topic_partitions(admin: AIOKafkaAdminClient, topic: str) -> set[int]:
    """The topic's partitions; empty when the topic does not exist (yet)."""
    # Metadata of all topics: asking for the one topic would let a broker with
    # auto.create.topics.enable create it, with the default partition count.
    for described in await admin.describe_topics():
        if described["topic"] == topic and described["error_code"] == 0:
            return {partition["partition"] for partition in described["partitions"]}
    return set()


async def log_bounds(
    consumer: AIOKafkaConsumer, topic: str, partitions: set[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """First and end offsets (partition → offset) of the committed records on the topic."""
    assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
    first: dict[TopicPartition, int] = await consumer.beginning_offsets(assignment)
    end: dict[TopicPartition, int] = await consumer.end_offsets(assignment)
    return (
        {tp.partition: offset for tp, offset in first.items()},
        {tp.partition: offset for tp, offset in end.items()},
    )


def decode_records(
    batch: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]], reader: str
) -> tuple[list[Record], int]:
    """The decodable records of a batch, and how many were skipped (each logged)."""
    records: list[Record] = []
    skipped = 0
    for tp, messages in batch.items():
        for message in messages:
            try:
                event = decode_issue_event(message.value)
                text = message.value.decode()
            except (UndecodableInput, UnicodeDecodeError) as exc:
                skipped += 1
                log.error(
                    "%s: skipping undecodable record %s[%d]@%d: %s",
                    reader,
                    tp.topic,
                    tp.partition,
                    message.offset,
                    one_line(exc),
                )
                continue
            records.append(Record(tp.partition, message.offset, event, text))
    return records, skipped
