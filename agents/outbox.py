"""What the fold agent produces during a batch, acknowledged all at once at its end.

Every output of the batch (issue events, dead letters, re-keyed inputs, hand-overs of moved
issues) is produced at once, without waiting; `settle` then waits for all of them, and only
after that does the agent commit the state that depends on them (see `fold_agent`). The
offsets the broker gave the batch's issue events tell how far each partition's events are
stated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from agents.channel_actors import Destination, Output
from agents.topics import Topics


class Outbox:
    def __init__(self, topics: Topics) -> None:
        self._topics = {
            Destination.ISSUE_EVENTS: topics.issue_events_topic,
            Destination.ALERTS: topics.alerts_topic,
            Destination.INTERACTIONS: topics.interactions_topic,
            Destination.DEAD_LETTERS: topics.alerts_dlq_topic,
        }
        self._pending: list[tuple[Output, Awaitable[Any]]] = []

    async def send(self, output: Output) -> None:
        """Produce now (not attached to the current event); acknowledged at `settle`."""
        pending = await self._topics[output.destination].send(
            key=output.key,
            value=output.value,
            partition=output.partition,
            timestamp=output.timestamp,
            headers=list(output.headers) or None,
            force=True,
        )
        self._pending.append((output, pending))

    async def settle(self) -> dict[int, int]:
        """Wait for everything sent; the next offset of each partition's issue events."""
        pending, self._pending = self._pending, []
        acked = await asyncio.gather(*(future for _, future in pending))
        stated: dict[int, int] = {}
        for (output, _), metadata in zip(pending, acked, strict=True):
            partition = output.partition
            if output.destination is Destination.ISSUE_EVENTS and partition is not None:
                stated[partition] = max(stated.get(partition, 0), int(metadata.offset) + 1)
        return stated

    def discard(self) -> None:
        self._pending.clear()
