"""The silences the API lists: read from the `interactions` log, kept in memory.

Each silence is written to every partition of `interactions` (see
`gateways.silence_publisher`), so partition 0 alone holds every silence there is; the
catalog reads it from the beginning and keeps following. A silence's latest record wins
(expiring re-sets it with an earlier end). Silences are few, so memory is the right store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from enum import StrEnum

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from domain.silences import Silence
from infra.kafka_clients import KafkaConnection
from infra.metrics import ConsumerLag
from wire.envelope import UndecodableInput
from wire.partition_inputs import decode_partition_input
from wire.silences import SilenceSet

log = logging.getLogger(__name__)


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


def state_of(silence: Silence, now: datetime) -> SilenceState:
    if now < silence.starts_at:
        return SilenceState.PENDING
    return SilenceState.ACTIVE if now < silence.ends_at else SilenceState.EXPIRED


class SilenceCatalog:
    def __init__(self) -> None:
        self._silences: dict[str, Silence] = {}
        self._updated: dict[str, datetime] = {}

    def apply(self, silence: Silence, at: datetime) -> None:
        """Take the silence as set (or expired) at `at`."""
        self._silences[silence.id] = silence
        self._updated[silence.id] = at

    def get(self, silence_id: str) -> Silence | None:
        return self._silences.get(silence_id)

    def updated_at(self, silence_id: str) -> datetime | None:
        """When the silence was last set or expired (Alertmanager's `updatedAt`)."""
        return self._updated.get(silence_id)

    def listed(self, now: datetime, state: SilenceState | None = None) -> list[Silence]:
        """Newest end first, the way Alertmanager lists them."""
        found = [s for s in self._silences.values() if state is None or state_of(s, now) is state]
        return sorted(found, key=lambda s: (s.ends_at, s.id), reverse=True)

    async def follow(self, kafka: KafkaConnection, topic: str) -> None:
        """Read partition 0 of the topic from the start, then keep up; retries while the
        broker is away (the API keeps answering from what it has)."""
        while True:
            try:
                await self._read(kafka, topic)
            except KafkaError as error:
                log.warning("reading silences from %s failed (%s); retrying", topic, error)
                await asyncio.sleep(2)

    async def _read(self, kafka: KafkaConnection, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            **kafka.options,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        lag = ConsumerLag("silences")
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            while True:
                batches = await consumer.getmany(partition, timeout_ms=500)
                for record in batches.get(partition, []):
                    self._take(record.value)
                await lag.observe(consumer)
        finally:
            lag.clear()
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _take(self, raw: bytes | None) -> None:
        if raw is None or b'"silence"' not in raw:
            return  # interactions and hand-overs: not ours
        try:
            decoded = decode_partition_input(raw)
        except UndecodableInput:
            return  # the fold dead-letters it
        if isinstance(decoded, SilenceSet):
            self.apply(decoded.silence, decoded.at)
