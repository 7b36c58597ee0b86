"""Which offset of each input partition the fold applies next: the fold's own bookmark.

Faust acknowledges records it drops during a rebalance or a shutdown (records fetched under
an older consumer generation, or while flow control is paused) and a record whose handler
was cancelled, so its committed offsets can run ahead of what was actually folded; a restart
would then silently skip those alerts. The bookmark lives in a changelog-backed table
written after each record's effects, so it is recovered with the issue state. A record past
the bookmark reveals such a gap, and the records in between are read back from Kafka and
folded first; Faust's own consumer is never moved, since seeking it from inside a stream
races with its fetcher thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from typing import Any, Protocol, cast

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.tables.table import Table

from agents.inputs import InputPositions, InputRecord
from agents.staged_table import StagedTable
from infra.topology import PROGRESS_TABLE

log = logging.getLogger("alertfold.fold")


class ProgressTable(Table[str, bytes]):
    """Entries keyed "topic:partition" live on that partition of the changelog.

    Faust would write an entry to the partition of the record being handled; the fold
    commits a whole batch's positions at once, after its events were acknowledged, when
    that record may be another partition's.
    """

    def partition_for_key(self, key: Any) -> int | None:
        return int(str(key).rsplit(":", 1)[1])


def progress_table(app: faust.App, partitions: int) -> faust.Table[str, bytes]:
    """Declare the table mapping "topic:partition" to the next offset to fold."""
    table = ProgressTable(
        app=app,
        name=PROGRESS_TABLE,
        default=None,
        partitions=partitions,
        key_type=str,
        value_type=bytes,
        help="input partition -> next offset the fold applies",
    )
    app.tables.add(table)
    return cast("faust.Table[str, bytes]", table)


class InputReader(Protocol):
    """Reads records of a partition outside Faust: from the broker, or from memory."""

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[InputRecord]: ...

    async def read_to_end(
        self, topic: str, partition: int, start: int, limit: int | None = None
    ) -> list[InputRecord]: ...


class FoldProgress(InputPositions):
    """The bookmarks, staged with the batch like the issue slots, and the gap reader."""

    def __init__(self, table: MutableMapping[str, bytes], gaps: InputReader) -> None:
        self._staged = StagedTable(table)
        super().__init__(self._staged)
        self.gaps = gaps

    def commit(self) -> None:
        """Make the positions staged by this batch durable (see `StagedTable`)."""
        self._staged.commit()

    def discard(self) -> None:
        self._staged.discard()

    async def missed_before(self, record: InputRecord) -> list[InputRecord] | None:
        """None when the record was folded already; else the records skipped before it."""
        expected = self.position(record.topic, record.partition)
        if expected is None or record.offset == expected:
            return []
        if record.offset < expected:
            return None  # folded before the last commit was lost: a redelivery
        missed = await self.gaps.read(record.topic, record.partition, expected, record.offset)
        log.warning(
            "%s[%d]: offset %d arrived but %d is the next to fold (the consumer skipped "
            "records); folding the %d skipped record(s) first",
            record.topic,
            record.partition,
            record.offset,
            expected,
            len(missed),
        )
        return missed


class GapReader:
    """Reads a range of one partition straight from the broker, outside Faust."""

    def __init__(self, bootstrap_servers: str, timeout: float = 30.0) -> None:
        self._servers = bootstrap_servers
        self._timeout = timeout

    async def read_to_end(
        self, topic: str, partition: int, start: int, limit: int | None = None
    ) -> list[InputRecord]:
        """Records from `start` up to the partition's current end (at most `limit`)."""
        tp = TopicPartition(topic, partition)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._servers, group_id=None)
        await consumer.start()
        try:
            end = (await consumer.end_offsets([tp]))[tp]
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.stop()
        if limit is not None:
            end = min(end, start + limit)
        return await self.read(topic, partition, start, end) if end > start else []

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[InputRecord]:
        """Records with start <= offset < end (fewer if retention removed some)."""
        tp = TopicPartition(topic, partition)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._servers, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            earliest = (await consumer.beginning_offsets([tp]))[tp]
            consumer.seek(tp, max(start, earliest))
            found: list[InputRecord] = []
            position = max(start, earliest)
            async with asyncio.timeout(self._timeout):
                while position < end:
                    for r in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                        position = r.offset + 1
                        if r.offset < end:
                            found.append(
                                InputRecord(
                                    topic, partition, r.offset, r.key, r.value, r.timestamp / 1000
                                )
                            )
            return found
        finally:
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.stop()
