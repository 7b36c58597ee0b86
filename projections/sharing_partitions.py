"""A reader's side of a consumer group: partitions given up and taken on between batches.

Mixed into `IssueEventReader` when it runs with a `group_id`. aiokafka calls the listener
during a rebalance and waits for it: a revocation first waits for the batch in progress
(under the reader's batch lock) to be committed, or dropped when it cannot be committed
meanwhile, so the next owner never reads past a batch that is not stored; an assignment
positions the new partitions at the sink's stored offsets before anything is polled from
them. The loop counts rebalances to recognise a batch polled across one, and reads it again.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from projections.issue_event_sink import PartitionOwner


class SharingPartitions:
    """Mixed into `IssueEventReader`, which sets these attributes and positions partitions."""

    owner: PartitionOwner | None
    _batch: asyncio.Lock
    _assignments: int
    _revoking: bool
    _rebalance_failure: Exception | None
    _ready: asyncio.Event
    _positions: dict[int, int]

    async def _position(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        raise NotImplementedError

    def _rebalances(self, consumer: AIOKafkaConsumer) -> ConsumerRebalanceListener:
        return _Rebalances(self, consumer)

    async def _revoked(self, partitions: set[int]) -> None:
        """Give the partitions up once the batch in progress is committed (or dropped)."""
        self._revoking = True
        try:
            async with self._batch:
                self._assignments += 1
                self._ready.clear()
                await self._give_up(partitions & set(self._positions))
        finally:
            self._revoking = False

    async def _give_up(self, partitions: set[int]) -> None:
        for partition in partitions:
            del self._positions[partition]
        if partitions and self.owner is not None:
            await self.owner.partitions_revoked(partitions)

    async def _assigned(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        """Position the new partitions and tell the owner; a failure reconnects the reader."""
        async with self._batch:
            self._assignments += 1
            try:
                await self._position(consumer, partitions)
                if self.owner is not None:
                    await self.owner.partitions_assigned(partitions)
            except Exception as exc:
                self._rebalance_failure = exc
                return
            self._ready.set()


class _Rebalances(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: SharingPartitions, consumer: AIOKafkaConsumer) -> None:
        self._reader = reader
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._reader._revoked({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._reader._assigned(self._consumer, {tp.partition for tp in assigned})
