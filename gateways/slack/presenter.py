"""Shows every presentable issue as one Slack message, kept current: `issue-events` → Slack.

One consumer (group `{app_id}-slack-presenter`) reads `issue-events` and hands each issue's
latest state to its channel's queue (`channel_queue`); one task per channel posts or updates,
at most `calls_per_second` calls in that channel, honouring 429 Retry-After for that method
in that channel only. Channels never wait for each other.

Delivery is at-least-once. Offsets are committed by hand, per partition, only up to the
lowest offset whose state has not reached Slack yet; rendering is a pure function of the
latest state, so the events re-read after a crash re-send the same message at worst. A post
whose ts was never recorded is found again by its metadata (`message_index`). After a post
or an adoption the ts goes back to the fold as a `message_posted` interaction, on the
channel's partition of `interactions`.

Escalation: when an issue this process has shown reaches a higher escalation level with
mentions, its message is deleted and posted again (Slack Manager's way), because Slack
notifies mentions only in new messages. After a restart the level last shown is unknown and
the message is updated instead, so a mention is never repeated by a crash.

Moves: `IssueMoved` queues a delete of the old message in the old channel's queue, and
`IssueArrived` a post in the new channel's, each at its channel's pace, in either order. A
message is adopted only in the channel the snapshot names, never the old one.

Archived issues: `archived_message` "keep" leaves the message as it was last shown (Slack
Manager's behaviour); "mark" updates it one last time as archived, without buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from domain.interactions import Actor, Interaction, InteractionKind
from domain.issue_state import IssueSnapshot
from gateways.slack.adoption import adopt_message
from gateways.slack.blocks import render_issue
from gateways.slack.channel_queue import DELETE, POST, UPDATE, ChannelQueue, Pending
from gateways.slack.message_index import DEFAULT_SCAN_LIMIT, MessageIndex
from gateways.slack.moves import moved_away
from gateways.slack.web_api import (
    SlackMessages,
    SlackRateLimited,
    SlackRejected,
    SlackUnavailable,
)
from wire.envelope import UndecodableInput
from wire.interactions import encode_interaction
from wire.issue_events import decode_issue_event

log = logging.getLogger("alertfold.slack")

ArchivedMessage = Literal["keep", "mark"]
RETRY_SECONDS = 2.0
PRESENTER = Actor(kind="alertfold", id="presenter", name="")


class SlackSetupError(Exception):
    """Slack refused the presenter's credentials: nothing can be shown until they change."""


class PartitionGivenUp(Exception):
    """The channel's partition went to another presenter while a call waited for its turn:
    that one shows the channel now, and a post from here could be a second message."""


class SlackPresenter:
    """`run()` until `stop()`; `posts`, `updates`, `deletes` and `ready` are for tests."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        interactions_topic: str,
        group_id: str,
        slack: SlackMessages,
        *,
        clock: Callable[[], datetime],
        calls_per_second: float = 1.0,
        archived_message: ArchivedMessage = "keep",
        scan_limit: int = DEFAULT_SCAN_LIMIT,
        commit_interval: float = 1.0,
        auto_offset_reset: str = "latest",
    ) -> None:
        self.topic = topic
        self.interactions_topic = interactions_topic
        self.slack = slack
        self.clock = clock
        self.interval = 1.0 / calls_per_second
        self.archived_message = archived_message
        self.commit_interval = commit_interval
        self.index = MessageIndex(scan_limit=scan_limit)
        self.posts = 0
        self.updates = 0
        self.deletes = 0
        self.ready = asyncio.Event()
        self._kafka: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "auto_offset_reset": auto_offset_reset,
        }
        self._queues: dict[str, ChannelQueue] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._versions: dict[str, int] = {}
        self._levels: dict[str, int] = {}  # escalation level each issue was last shown at
        self._partitions: dict[str, int] = {}  # channel → its partition of `issue-events`
        self._owned: set[int] = set()
        self._given_up: set[int] = set()  # at the last rebalance
        self._committed: dict[int, int] = {}
        self._reassigned = False
        self._stopping = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        await self._open_slack()
        if self._stopping.is_set():
            return
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, isolation_level="read_committed", **self._kafka
        )
        consumer.subscribe([self.topic], listener=_Rebalance(self, consumer))
        producer = AIOKafkaProducer(bootstrap_servers=self._kafka["bootstrap_servers"], acks="all")
        await consumer.start()
        await producer.start()
        self._producer = producer
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
                await self._commit(consumer)
                if self._reassigned:
                    self._reassigned = False
                    self._announce_assignment(consumer)

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

    def _finished(self, channel: str, issue_id: str) -> None:
        self.index.forget(channel, issue_id)
        self._versions.pop(issue_id, None)
        self._levels.pop(issue_id, None)

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
                    self._levels.pop(issue_id, None)
        self._owned = partitions
        self._reassigned = True

    # -- one channel ---------------------------------------------------------------------

    def _method_of(self, entry: Pending) -> str:
        if entry.delete:
            return DELETE
        return UPDATE if self.index.known_ts(entry.issue) else POST

    async def _channel_loop(self, queue: ChannelQueue) -> None:
        while True:
            entry = queue.next_entry(self._method_of)
            if entry is None:
                await queue.wait_for_work()
                continue
            issue, offset, finish = entry.issue, entry.offset, entry.finish
            method = self._method_of(entry)
            try:
                if entry.delete:
                    await self._remove(queue, issue.id, entry.old_ts, entry.partition)
                else:
                    await self._show(queue, issue, entry.partition)
            except PartitionGivenUp:
                continue  # its entries were dropped; the next owner shows them
            except SlackRateLimited as limited:
                log.info(
                    "slack: %s in %s: waiting %g s", limited, queue.channel, limited.retry_after
                )
                queue.block(method, limited.retry_after)
                continue
            except (SlackUnavailable, KafkaError) as error:
                log.warning("slack: showing %s failed (%s); retrying", issue.id, error)
                queue.block(method, RETRY_SECONDS)
                continue
            except SlackRejected as error:
                log.error("slack: %s refused for issue %s in %s", error, issue.id, queue.channel)
                queue.drop(issue.id)
                continue
            except Exception:
                log.exception("slack: showing %s failed; retrying", issue.id)
                queue.block(method, RETRY_SECONDS)
                continue
            queue.shown(entry, offset)
            if finish and issue.id not in queue.pending:
                self._finished(queue.channel, issue.id)

    async def _show(self, queue: ChannelQueue, issue: IssueSnapshot, partition: int) -> None:
        """Post or update the issue's message with its state, then announce a new ts."""
        channel, message = queue.channel, render_issue(issue)
        ts = self.index.known_ts(issue) or await adopt_message(
            self.slack, queue, self.index, issue.id
        )
        if ts is not None and self._escalated_with_mentions(issue):
            await self._turn(queue, partition)
            await self.slack.delete(channel, ts)
            self.index.gone(channel, issue.id, ts)
            ts = None
        if ts is None:
            await self._turn(queue, partition)
            try:
                ts = await self.slack.post(channel, issue.id, message)
            except SlackUnavailable:
                self.index.forget_scan(channel)  # it may have been posted after all
                raise
            self.index.posted(channel, issue.id, ts)
            self.posts += 1
        elif self.index.shown.get((channel, issue.id)) != message:
            await self._turn(queue, partition)
            try:
                await self.slack.update(channel, ts, issue.id, message)
            except SlackRejected as error:
                if error.error != "message_not_found":
                    raise
                log.warning("slack: the message of %s was deleted; posting it again", issue.id)
                self.index.gone(channel, issue.id, ts)
                return await self._show(queue, issue, partition)
            self.updates += 1
        self.index.shown[(channel, issue.id)] = message
        self._levels[issue.id] = issue.escalation_level
        await self._announce(channel, issue, partition)

    async def _remove(
        self, queue: ChannelQueue, issue_id: str, old_ts: str | None, partition: int
    ) -> None:
        """Delete the message of an issue that left the channel: the one the fold knew, the
        one this process knows (posted just before the move), else one found by metadata."""
        channel = queue.channel
        known = {ts for ts in (old_ts, self.index.ts.get((channel, issue_id))) if ts}
        found = None if known else await adopt_message(self.slack, queue, self.index, issue_id)
        for ts in sorted(known | ({found} if found else set())):
            await self._turn(queue, partition)
            await self.slack.delete(channel, ts)
            self.index.gone(channel, issue_id, ts)
            self.deletes += 1
            log.info("slack: deleted the message %s of moved issue %s in %s", ts, issue_id, channel)
        self.index.forget(channel, issue_id)

    async def _turn(self, queue: ChannelQueue, partition: int) -> None:
        """The channel's next call slot, for a change in Slack while the partition is ours."""
        await queue.turn()
        if partition not in self._owned:
            raise PartitionGivenUp

    def _escalated_with_mentions(self, issue: IssueSnapshot) -> bool:
        """Whether the issue's message must be posted again so its new mentions notify."""
        shown_level = self._levels.get(issue.id, issue.escalation_level)
        return (
            issue.status == "open" and bool(issue.mentions) and issue.escalation_level > shown_level
        )

    async def _announce(self, channel: str, issue: IssueSnapshot, partition: int) -> None:
        """Tell the fold the message's ts (a `message_posted` interaction), once per ts."""
        ts = self.index.unannounced.get((channel, issue.id))
        if ts is None or self._producer is None:
            return
        interaction = Interaction(
            kind=InteractionKind.MESSAGE_POSTED,
            interaction_id=f"posted/{issue.id}/{ts}",
            channel_id=channel,
            correlation_id=issue.correlation_id,
            issue_id=issue.id,
            at=self.clock(),
            actor=PRESENTER,
            slack_ts=ts,
            reason="",
        )
        await self._producer.send_and_wait(
            self.interactions_topic,
            encode_interaction(interaction),
            key=channel.encode(),
            partition=partition,
        )
        if self.index.unannounced.get((channel, issue.id)) == ts:
            del self.index.unannounced[(channel, issue.id)]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, presenter: SlackPresenter, consumer: AIOKafkaConsumer) -> None:
        self._presenter = presenter
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._presenter.revoked(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._presenter.assigned({tp.partition for tp in assigned})
