"""Live updates: which issues changed, told to every open page as the fold decides.

One reader of `issue-events` per API process (no consumer group: each process must see
every event), from the end of the log, `read_committed` like every reader of a
transactionally written topic. A page refreshes from the lookup view, which lags the log a
little, so a change is announced only once the view holds the event's version (or after
`settle_seconds`, should the projector be slow or down), and a page never re-reads the old
state and misses the new one. Pages subscribe with a bounded queue each: a page that does
not keep up is told "everything changed" instead of holding the process's memory. Of each
event only the issue id and version are read (every API process reads every event, and a
full decode would validate a snapshot nobody here looks at).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from infra.kafka_clients import KafkaConnection
from projections.issue_event_reading import reader_clients, stop_consumer, topic_partitions
from wire.envelope import UndecodableInput
from wire.issue_events import changed_issue

log = logging.getLogger(__name__)

EVERYTHING = "*"
QUEUE_SIZE = 64
# Issue id → the version the view holds, for the ids asked about that it holds.
ViewVersions = Callable[[Collection[str]], dict[str, int]]


@dataclass
class _Waiting:
    version: int
    since: float


@dataclass
class IssueFeed:
    kafka: KafkaConnection
    topic: str
    view_versions: ViewVersions
    settle_seconds: float = 3.0
    poll_ms: int = 200
    _pages: set[asyncio.Queue[frozenset[str]]] = field(default_factory=set)
    _waiting: dict[str, _Waiting] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[frozenset[str]]]:
        """A queue of sets of changed issue ids (`EVERYTHING` among them: reload all)."""
        queue: asyncio.Queue[frozenset[str]] = asyncio.Queue(QUEUE_SIZE)
        self._pages.add(queue)
        try:
            yield queue
        finally:
            self._pages.discard(queue)

    async def run(self) -> None:
        """Follow the log until cancelled; reconnects while the broker (or the view) is away.

        Live updates are a convenience: whatever fails here is logged and retried, and
        never takes the API down."""
        while True:
            try:
                await self._follow()
            except (KafkaError, OSError) as error:
                log.warning("live updates: reading %s failed (%s); retrying", self.topic, error)
            except Exception:
                log.exception("live updates failed; retrying")
            await asyncio.sleep(2)

    async def _follow(self) -> None:
        consumer, admin = reader_clients(self.kafka, "alertfold-api-live")
        await admin.start()
        try:
            partitions = await topic_partitions(admin, self.topic)
        finally:
            await admin.close()
        if not partitions:
            return  # the topic does not exist yet: `run` tries again
        await consumer.start()
        try:
            assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(assignment)
            await consumer.seek_to_end(*assignment)
            while True:
                batch = await consumer.getmany(timeout_ms=self.poll_ms)
                for message in (m for messages in batch.values() for m in messages):
                    with contextlib.suppress(UndecodableInput):  # not for pages to show
                        self.decided(*changed_issue(message.value))
                await self.announce_settled()
        finally:
            await stop_consumer(consumer)

    def decided(self, issue_id: str, version: int) -> None:
        """An event of the issue is in the log; announce it once the view has it."""
        waiting = self._waiting.get(issue_id)
        if waiting is None:
            self._waiting[issue_id] = _Waiting(version, time.monotonic())
        else:
            waiting.version = max(waiting.version, version)

    async def announce_settled(self) -> None:
        """Tell the pages of the changes the view holds (or that waited `settle_seconds`).

        With no page open, changes are only kept until they would have settled, without
        asking the view: a page opened meanwhile still hears of those its first view of the
        issues may have missed, and an API nobody watches does not query for nobody."""
        if not self._waiting:
            return
        now = time.monotonic()
        if not self._pages:
            for issue_id, waiting in list(self._waiting.items()):
                if now - waiting.since >= self.settle_seconds:
                    del self._waiting[issue_id]
            return
        held = await asyncio.to_thread(self.view_versions, list(self._waiting))
        settled = frozenset(
            issue_id
            for issue_id, waiting in self._waiting.items()
            if held.get(issue_id, 0) >= waiting.version
            or now - waiting.since >= self.settle_seconds
        )
        for issue_id in settled:
            del self._waiting[issue_id]
        if settled:
            self.tell(settled)

    def tell(self, issue_ids: frozenset[str]) -> None:
        for queue in self._pages:
            if queue.full():  # a page that does not keep up reloads everything
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(frozenset({EVERYTHING}))
            else:
                queue.put_nowait(issue_ids)
