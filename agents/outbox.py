"""What the fold agent produces during a batch, acknowledged all at once at its end.

Every record (issue events, dead letters, re-keyed inputs, hand-overs of moved issues) is
produced at once, without waiting; `settle` then waits for all of them, and only after that
does the agent commit the state that depends on them (see `fold_agent`). The offsets the
broker gave the batch's issue events tell how far each partition's events are stated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from faust.types import TopicT

from agents.fold_progress import InputRecord
from agents.topics import Topics
from wire.dead_letters import DeadLetter

log = logging.getLogger("alertfold.fold")


class Outbox:
    def __init__(self, topics: Topics) -> None:
        self._topics = topics
        self._events = topics.issue_events_topic.get_topic_name()
        self._pending: list[tuple[str, int | None, Awaitable[Any]]] = []

    async def send(
        self,
        topic: TopicT,
        *,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        timestamp: float | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Produce now (not attached to the current event); acknowledged at `settle`."""
        pending = await topic.send(
            key=key,
            value=value,
            partition=partition,
            timestamp=timestamp,
            headers=headers,
            force=True,
        )
        self._pending.append((topic.get_topic_name(), partition, pending))

    async def dead_letter(
        self, record: InputRecord, reason: str, problems: list[dict[str, str]]
    ) -> None:
        letter = DeadLetter(
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            problems=problems,
        )
        await self.send(
            self._topics.alerts_dlq_topic,
            key=record.key,
            value=letter.to_json(),
            headers=letter.headers(),
        )
        where = f"{letter.topic}[{letter.partition}]@{letter.offset}"
        log.warning("dead-lettered record at %s: %s", where, reason)

    async def settle(self) -> dict[int, int]:
        """Wait for everything sent; the next offset of each partition's issue events."""
        pending, self._pending = self._pending, []
        acked = await asyncio.gather(*(future for _, _, future in pending))
        stated: dict[int, int] = {}
        for (topic, partition, _), metadata in zip(pending, acked, strict=True):
            if topic == self._events and partition is not None:
                stated[partition] = max(stated.get(partition, 0), int(metadata.offset) + 1)
        return stated

    def discard(self) -> None:
        self._pending.clear()
