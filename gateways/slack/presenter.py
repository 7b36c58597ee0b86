"""Shows every presentable issue as one Slack message, kept current: `issue-events` → Slack.

One consumer (group `{app_id}-slack-presenter`) reads `issue-events` and hands each issue's
latest state to its channel's queue (`channel_queue`); one task per channel posts or updates
(`issue_messages`), at most `calls_per_second` calls in that channel, and the methods Slack
limits per workspace (Tier 3: updates, deletes, history and thread reads) within one shared
budget each (`workspace_budget`), new posts and state changes first. A 429 holds back only
the method that got it, and a channel held back long is told so (`rate_holds`).

Delivery is at-least-once. Offsets are committed by hand, per partition, only up to the
lowest offset whose state has not reached Slack yet; rendering is a pure function of the
latest state, so the events re-read after a crash re-send the same message at worst. A post
whose ts was never recorded is found again by its metadata (`message_index`). After a post
or an adoption the ts goes back to the fold as a `message_posted` interaction, on the
channel's partition of `interactions`.

A reminder (`IssueReminded`) is a reply in the thread of the issue's message, queued on the
issue's entry without changing the state it shows.

Escalations and moves post the issue anew (`issue_messages`): `IssueMoved` queues the
removal of the old message in the old channel's queue, and `IssueArrived` a post in the new
channel's, each at its channel's pace, in either order. A message is adopted only in the
channel the snapshot names, never the old one.

Archived issues: `archived_message` "keep" leaves the message as it was last shown (Slack
Manager's behaviour); "mark" updates it one last time as archived, without buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from domain.silences import DEFAULT_SILENCE_DURATIONS
from gateways.slack.channel_queue import (
    CallTurns,
    ChannelQueue,
    PartitionGivenUp,
    Pending,
)
from gateways.slack.issue_messages import IssueMessages
from gateways.slack.message_index import DEFAULT_SCAN_LIMIT, MessageIndex
from gateways.slack.metrics import QUEUE_DEPTH, QUEUE_OLDEST
from gateways.slack.moves import moved_away
from gateways.slack.mrkdwn import AlertMarkup
from gateways.slack.rate_holds import HELD_NOTICE_AFTER, RateHolds
from gateways.slack.ts_announcer import TsAnnouncer
from gateways.slack.web_api import (
    SlackMessages,
    SlackRateLimited,
    SlackRejected,
    SlackUnavailable,
)
from gateways.slack.workspace_budget import Priority, WorkspaceBudget
from infra.kafka_clients import KafkaConnection
from infra.metrics import ConsumerLag
from wire.envelope import UndecodableInput
from wire.issue_events import decode_issue_event

log = logging.getLogger("alertfold.slack")

ArchivedMessage = Literal["keep", "mark"]
RETRY_SECONDS = 2.0
REMINDED = "IssueReminded"


class SlackSetupError(Exception):
    """Slack refused the presenter's credentials: nothing can be shown until they change."""


class SlackPresenter:
    """`run()` until `stop()`; `messages` (its counts), `index` and `ready` are for tests."""

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        interactions_topic: str,
        group_id: str,
        slack: SlackMessages,
        *,
        clock: Callable[[], datetime],
        calls_per_second: float = 1.0,
        budget: WorkspaceBudget | None = None,
        markup: AlertMarkup = "escaped",
        archived_message: ArchivedMessage = "keep",
        silence_durations: Sequence[timedelta] = DEFAULT_SILENCE_DURATIONS,
        held_notice_after: float = HELD_NOTICE_AFTER,
        scan_limit: int = DEFAULT_SCAN_LIMIT,
        commit_interval: float = 1.0,
        auto_offset_reset: str = "latest",
    ) -> None:
        self.topic = topic
        self.slack = slack
        self.interval = 1.0 / calls_per_second
        self.budget = budget or WorkspaceBudget()
        self.archived_message = archived_message
        self.holds = RateHolds(slack, self.budget, held_notice_after)
        self.commit_interval = commit_interval
        self.index = MessageIndex(scan_limit=scan_limit)
        self.messages = IssueMessages(slack, self.index, markup, silence_durations)
        self.ready = asyncio.Event()
        self._kafka = kafka
        self._group: dict[str, Any] = {
            "group_id": group_id,
            "auto_offset_reset": auto_offset_reset,
        }
        self._queues: dict[str, ChannelQueue] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._versions: dict[str, int] = {}
        self._partitions: dict[str, int] = {}  # channel → its partition of `issue-events`
        self._owned: set[int] = set()
        self._given_up: set[int] = set()  # at the last rebalance
        self._committed: dict[int, int] = {}
        self._reassigned = False
        self._stopping = asyncio.Event()
        self.announcer = TsAnnouncer(self.index, interactions_topic, clock)
        self._lag = ConsumerLag("presenter")

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        await self._open_slack()
        if self._stopping.is_set():
            return
        consumer = AIOKafkaConsumer(
            **self._kafka.options,
            **self._group,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        consumer.subscribe([self.topic], listener=_Rebalance(self, consumer))
        producer = AIOKafkaProducer(**self._kafka.options, acks="all")
        await consumer.start()
        await producer.start()
        self.announcer.producer = producer
        try:
            await self._consume(consumer)
        finally:
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            with contextlib.suppress(KafkaError, asyncio.CancelledError):
                await self._commit(consumer)
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.stop()
            self._lag.clear()
            await producer.stop()
            await self.slack.close()

    async def stop(self) -> None:
        self._stopping.set()

    async def _open_slack(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.slack.open()
                return
            except SlackRejected as error:
                await self.slack.close()
                raise SlackSetupError(f"Slack refused SLACK_BOT_TOKEN: {error.error}") from None
            except (SlackUnavailable, SlackRateLimited) as error:
                await self.slack.close()
                log.warning("slack: cannot reach Slack (%s); retrying in %.0f s", error, 5)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(5):
                        await self._stopping.wait()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        next_commit = time.monotonic() + self.commit_interval
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    self._take(tp.partition, record.offset, record.value)
            if self._reassigned or time.monotonic() >= next_commit:
                next_commit = time.monotonic() + self.commit_interval
                self._report_queues()
                await self._lag.observe(consumer, force=True)
                await self._commit(consumer)
                if self._reassigned:
                    self._reassigned = False
                    self._announce_assignment(consumer)

    def _report_queues(self) -> None:
        for channel, queue in self._queues.items():
            QUEUE_DEPTH.labels(channel).set(len(queue.pending))
            QUEUE_OLDEST.labels(channel).set(queue.waited())

    def _announce_assignment(self, consumer: AIOKafkaConsumer) -> None:
        partitions = sorted(tp.partition for tp in consumer.assignment())
        log.info("slack presenter: consuming %s partitions %s", self.topic, partitions)
        self.ready.set()

    # -- events in -----------------------------------------------------------------------

    def _take(self, partition: int, offset: int, raw: bytes | None) -> None:
        try:
            event = decode_issue_event(raw)
        except UndecodableInput as error:
            log.warning(
                "slack: skipped an undecodable issue event at %s:%d: %s",
                partition,
                offset,
                error.reason,
            )
            return
        issue = event.issue
        moved = moved_away(event)
        if moved is not None and (issue.presentable or moved.ts):
            # Not subject to the version check: the arrival may have been read first.
            self._queue(moved.channel_id, partition).offer_delete(
                issue, partition, offset, moved.ts
            )
        if not issue.presentable or self._versions.get(issue.id, 0) >= event.version:
            return
        self._versions[issue.id] = event.version
        if moved is not None:
            return  # its `IssueArrived` posts in the target channel
        queue = self._queue(event.channel_id, partition)
        if event.type == REMINDED:
            queue.offer_reminder(issue, partition, offset, event.occurred_at)
            return
        archived = issue.status == "archived"
        if archived and self.archived_message == "keep":
            if not queue.finish_as_is(issue.id, partition, offset):
                self._finished(queue.channel, issue.id)
            return
        queue.offer(issue, partition, offset, finish=archived)

    def _queue(self, channel: str, partition: int) -> ChannelQueue:
        self._partitions[channel] = partition
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = ChannelQueue(channel, self.interval)
            self._tasks[channel] = asyncio.create_task(
                self._channel_loop(queue), name=f"slack-{channel}"
            )
        return queue

    def _owns(self, partition: int) -> bool:
        return partition in self._owned

    def _finished(self, channel: str, issue_id: str) -> None:
        self.messages.forget(channel, issue_id)
        self._versions.pop(issue_id, None)

    # -- offsets -------------------------------------------------------------------------

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit each partition up to its lowest offset not yet shown in Slack."""
        lows: dict[int, int] = {}
        for queue in self._queues.values():
            for partition, low in queue.low_offsets().items():
                lows[partition] = min(lows.get(partition, low), low)
        offsets: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            position: int = await consumer.position(tp)
            safe = min(lows.get(tp.partition, position), position)
            if safe > self._committed.get(tp.partition, -1):
                offsets[tp] = safe
        if offsets:
            await consumer.commit(offsets)
            self._committed.update({tp.partition: o for tp, o in offsets.items()})

    async def revoked(self, consumer: AIOKafkaConsumer, revoked: set[TopicPartition]) -> None:
        """Commit what is safe, then let the partitions' next owner show their pending states."""
        with contextlib.suppress(KafkaError):
            await self._commit(consumer)
        partitions = {tp.partition for tp in revoked}
        for queue in self._queues.values():
            for issue_id in queue.drop_partitions(partitions):
                self._versions.pop(issue_id, None)
        for partition in partitions:
            self._committed.pop(partition, None)
        self._owned -= partitions
        self._given_up = partitions

    def assigned(self, partitions: set[int]) -> None:
        """Forget what is known of the channels this presenter did not hold until now: while
        another one showed them, it may have posted, deleted or re-posted there."""
        for channel, partition in self._partitions.items():
            if partition in partitions - self._given_up:
                for issue_id in self.index.forget_channel(channel):
                    self.messages.levels.pop(issue_id, None)
        self._owned = partitions
        self._reassigned = True

    # -- one channel ---------------------------------------------------------------------

    async def _channel_loop(self, queue: ChannelQueue) -> None:
        while True:
            if self.holds.notice_due(queue) == 0:
                await self.holds.tell(queue)
            entry = self._next(queue)
            if entry is None:
                await queue.wait_for_work(self.holds.notice_due(queue))
                continue
            # Newer states replace the entry's while its calls are under way: keep this one.
            issue, offset, finish = entry.issue, entry.offset, entry.finish
            remind_at = entry.remind_at
            calls = CallTurns(
                queue,
                self.budget,
                self.messages.priority(entry),
                still_ours=functools.partial(self._owns, entry.partition),
            )
            try:
                if entry.delete:
                    await self.messages.remove(calls, issue, entry.old_ts)
                else:
                    if not self.messages.replies_only(entry):
                        await self.messages.show(calls, issue)
                        await self.announcer.announce(queue.channel, issue, entry.partition)
                    if remind_at is not None:
                        await self.messages.remind(calls, entry.issue)
                        if entry.remind_at == remind_at:
                            entry.remind_at = None
            except PartitionGivenUp:
                continue  # its entries were dropped; the partition's next owner shows them
            except SlackRateLimited as limited:
                self.holds.hold(queue, limited)
                continue
            except (SlackUnavailable, KafkaError) as error:
                log.warning(
                    "slack: showing %s failed (%s); retrying",
                    issue.id,
                    error,
                    extra={"issue_id": issue.id, "channel_id": queue.channel},
                )
                queue.block(self.messages.method_of(entry), RETRY_SECONDS)
                continue
            except SlackRejected as error:
                log.error(
                    "slack: %s refused for issue %s in %s",
                    error,
                    issue.id,
                    queue.channel,
                    extra={"issue_id": issue.id, "channel_id": queue.channel},
                )
                queue.drop(issue.id)
                continue
            except Exception:
                log.exception("slack: showing %s failed; retrying", issue.id)
                queue.block(self.messages.method_of(entry), RETRY_SECONDS)
                continue
            queue.shown(entry, offset)
            if finish and issue.id not in queue.pending:
                self._finished(queue.channel, issue.id)

    def _next(self, queue: ChannelQueue) -> Pending | None:
        """The best entry whose first call may go now: a post at the channel's pace, or a
        call of a workspace-limited method the channel holds a grant for. The channel's best
        wish for each such method is stated, so a grant wakes it later."""
        candidates = queue.candidates(self.messages.method_of, self.messages.priority)
        wants: dict[str, Priority] = {}
        for _, method, priority in candidates:
            if self.budget.limited(method):
                wants.setdefault(method, priority)
        granted = self.budget.declare(queue.channel, wants, queue.changed.set)
        ready = (e for e, m, _ in candidates if not self.budget.limited(m) or m in granted)
        return next(ready, None)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, presenter: SlackPresenter, consumer: AIOKafkaConsumer) -> None:
        self._presenter = presenter
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._presenter.revoked(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._presenter.assigned({tp.partition for tp in assigned})
