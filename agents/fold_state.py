"""The worker's state on Kafka: the compacted `fold-state` topic, one partition per input's.

Each batch's changed slots are written to it in the same transaction as the batch's events
and offsets (a removed slot as a tombstone), so what is committed there is always the state
that follows exactly the inputs the committed offsets say were folded. A worker taking a
partition over reads that partition back, whole, before folding anything of it.

The batch's input positions go there too (`position_entry`), beside the consumer group's
offsets: Kafka forgets a group's offsets once the group has been empty for
`offsets.retention.minutes` (7 days by default), and a worker that then read its inputs from
the beginning would fold every alert a second time onto the state that already holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.kafka_clients import KafkaConnection

log = logging.getLogger("alertfold.fold")

# ASCII record separator, as the partition's own entries in `agents.issue_table`, then a
# name no slot key can start with.
_POSITION = "\x1eposition\x1f"


def position_entry(key: str) -> str:
    """The `fold-state` key of an input position (`InputPositions`' "topic:partition")."""
    return f"{_POSITION}{key}"


def split_positions(entries: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, int]]:
    """The partition's state entries apart from its stored input positions (topic → next
    offset)."""
    state: dict[str, bytes] = {}
    positions: dict[str, int] = {}
    for key, value in entries.items():
        if key.startswith(_POSITION):
            topic = key[len(_POSITION) :].rsplit(":", 1)[0]
            positions[topic] = int(value)
        else:
            state[key] = value
    return state, positions


async def read_partition_state(
    kafka: KafkaConnection, topic: str, partition: int, *, timeout: float = 300.0
) -> dict[str, bytes]:
    """Every live entry of the partition (committed records only), latest value per key."""
    consumer = AIOKafkaConsumer(
        **kafka.options,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    started = time.monotonic()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        entries: dict[str, bytes] = {}
        read = 0
        async with asyncio.timeout(timeout):
            while await consumer.position(tp) < end:
                for record in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
                    read += 1
                    key = record.key.decode() if record.key else ""
                    if record.value is None:
                        entries.pop(key, None)
                    else:
                        entries[key] = record.value
        log.info(
            "partition %d: read %d state records (%d live slots) in %.1fs",
            partition,
            read,
            len(entries),
            time.monotonic() - started,
        )
        return entries
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()
