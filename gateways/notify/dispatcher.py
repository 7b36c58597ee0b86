"""The notifier: reads `issue-events`, routes each event, delivers to each channel.

Like the lookup projector it assigns itself every partition (no consumer group) and keeps
its position in its database, written in the same transaction as the ledger rows of the
batch (`gateways.notify.delivery_log`): a batch's intents are recorded before anything of
it is sent, which makes delivery at most once per (event, channel) across restarts.

Each channel has its own lane (an asyncio queue and task), so a slow or dead destination
only holds up its own notifications, in order, while the others go on. After the last
failed attempt the notification goes to `notifications.dlq` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import Attempt, DeliveryLog, Intent
from gateways.notify.retrying import RetryPolicy, deliver
from gateways.notify.sending import (
    DeliveryResult,
    Notification,
    NotificationKind,
    Sender,
)
from gateways.notify.services import SenderFactory, default_senders
from projections.issue_event_reading import (
    Record,
    decode_records,
    one_line,
    reader_clients,
    stop_consumer,
    topic_partitions,
)
from projections.notification_routing import route

log = logging.getLogger(__name__)

DELIVERY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://alertfold/notifications")
DLQ_RECORD_TYPE = "NotificationUndelivered"


def delivery_id(event_id: str, channel_id: str) -> str:
    """The same id for an (event, channel) on every attempt and after restarts."""
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}\n{channel_id}"))


class NotificationDispatcher:
    """`run()` until `stop()`; counters are for tests, logs and health checks."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        dlq_topic: str,
        channels: ChannelStore,
        deliveries: DeliveryLog,
        *,
        policy: RetryPolicy | None = None,
        senders: SenderFactory = default_senders,
        public_url: str = "",
        http_timeout: float = 10.0,
        channel_refresh_interval: float = 2.0,
        poll_timeout_ms: int = 200,
        max_records: int = 500,
        retry_backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.channels = channels
        self.deliveries = deliveries
        self.policy = policy or RetryPolicy()
        self.senders = senders
        self.public_url = public_url
        self.http_timeout = http_timeout
        self.channel_refresh_interval = channel_refresh_interval
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.retry_backoff = retry_backoff
        self.sleep = sleep
        self.clock = clock

        self.delivered = 0
        self.failed = 0
        self.dead_lettered = 0
        self.skipped = 0

        self._configured: dict[str, NotificationChannel] = {}
        self._senders: dict[str, tuple[NotificationChannel, Sender]] = {}
        self._lanes: dict[str, asyncio.Queue[Intent]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._positions: dict[int, int] = {}
        self._http: httpx.AsyncClient | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()
        self._finished = asyncio.Event()
        self._finished.set()

    @property
    def ready(self) -> bool:
        """Partitions assigned and positioned: what is produced from now on is seen."""
        return self._ready.is_set()

    @property
    def positions(self) -> dict[int, int]:
        return dict(self._positions)

    async def run(self) -> None:
        self._finished.clear()
        # Fails at start, with the message naming ALERTFOLD_SECRETS_KEY, if it is missing.
        await self._refresh_channels(strict=True)
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout) as http:
                self._http = http
                await self._consume()
        finally:
            await self._close_lanes()
            self._http = None
            self._finished.set()

    async def stop(self) -> None:
        """Stop reading and cancel deliveries in flight (their ledger rows say `sending`)."""
        self._stopping.set()
        await self._finished.wait()

    # -- consuming -----------------------------------------------------------------------

    async def _consume(self) -> None:
        consumer, admin = reader_clients(self.bootstrap_servers, "alertfold-notifier")
        dlq = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all")
        try:
            if not await self._start_clients(consumer, admin, dlq):
                return
            self._dlq = dlq
            partitions = await self._partitions(admin)
            if partitions is None:
                return
            for intent in await asyncio.to_thread(self.deliveries.resume):
                self._enqueue(intent)
            await self._assign(consumer, partitions)
            await self._loop(consumer)
        finally:
            self._ready.clear()
            self._dlq = None
            await stop_consumer(consumer)
            await admin.close()
            await dlq.stop()

    async def _start_clients(self, *clients: Any) -> bool:
        """Start the Kafka clients, retrying while Kafka is unreachable; False if stopped."""
        backoff = self.retry_backoff
        while True:
            try:
                for client in clients:
                    await client.start()
                return True
            except Exception as exc:
                log.warning("notifier: cannot reach Kafka (%s); retrying", one_line(exc))
                if await self._wait_stopping(backoff):
                    return False
                backoff = min(backoff * 2, 5.0)

    async def _partitions(self, admin: Any) -> set[int] | None:
        while not self._stopping.is_set():
            partitions = await topic_partitions(admin, self.topic)
            if partitions:
                return partitions
            log.info("notifier: topic %s has no partitions yet", self.topic)
            await self._wait_stopping(self.retry_backoff)
        return None

    async def _assign(self, consumer: AIOKafkaConsumer, partitions: set[int]) -> None:
        stored = await asyncio.to_thread(self.deliveries.positions, self.topic)
        assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        fresh = [tp for tp in assignment if tp.partition not in stored]
        for tp in assignment:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        self._positions = {tp.partition: await consumer.position(tp) for tp in assignment}
        log.info("notifier: reading %s from %s", self.topic, self._positions)
        self._ready.set()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + self.channel_refresh_interval
        while not self._stopping.is_set():
            batch = await consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + self.channel_refresh_interval
                await self._refresh_channels(strict=False)
            positions: dict[int, int] = {}
            for tp in consumer.assignment():
                position: int = await consumer.position(tp)
                if position > self._positions.get(tp.partition, 0):
                    positions[tp.partition] = position
            if batch or positions:
                await self._record(self._intents(batch), positions)

    def _intents(
        self, batch: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> list[Intent]:
        records: list[Record]
        records, skipped = decode_records(batch, "notifier")
        self.skipped += skipped
        routes = [channel.route for channel in self._configured.values()]
        intents: list[Intent] = []
        for _partition, _offset, event in sorted(records, key=lambda r: (r[0], r[1])):
            routed = route(event, routes)
            if routed is not None:
                intents.extend(Intent(c, routed.kind, event) for c in routed.channel_ids)
        return intents

    async def _record(self, intents: list[Intent], positions: dict[int, int]) -> None:
        """Ledger rows and positions in one transaction, retried until the database takes them."""
        backoff = self.retry_backoff
        while True:
            try:
                fresh = await asyncio.to_thread(
                    self.deliveries.record_intents, self.topic, intents, positions
                )
                break
            except Exception:
                log.exception("notifier: recording %d intents failed; retrying", len(intents))
                if await self._wait_stopping(backoff):
                    return
                backoff = min(backoff * 2, 5.0)
        self._positions.update(positions)
        for intent in fresh:
            self._enqueue(intent)

    async def _refresh_channels(self, *, strict: bool) -> None:
        try:
            channels = await asyncio.to_thread(self.channels.all)
        except Exception as exc:
            if strict:
                raise
            log.error("notifier: reading channels failed, keeping the last ones: %s", exc)
            return
        self._configured = {channel.id: channel for channel in channels}

    # -- lanes ---------------------------------------------------------------------------

    def _enqueue(self, intent: Intent) -> None:
        lane = self._lanes.get(intent.channel_id)
        if lane is None:
            lane = self._lanes[intent.channel_id] = asyncio.Queue()
            self._lane_tasks[intent.channel_id] = asyncio.create_task(
                self._drain(lane), name=f"notify-lane-{intent.channel_id}"
            )
        lane.put_nowait(intent)

    async def _drain(self, lane: asyncio.Queue[Intent]) -> None:
        while True:
            intent = await lane.get()
            try:
                await self._deliver(intent)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "notifier: delivering %s to %s failed", intent.event.event_id, intent.channel_id
                )

    async def _close_lanes(self) -> None:
        for task in self._lane_tasks.values():
            task.cancel()
        for task in self._lane_tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lanes.clear()
        self._lane_tasks.clear()

    async def _deliver(self, intent: Intent) -> None:
        channel = self._configured.get(intent.channel_id)
        if channel is None or not channel.enabled:
            # Deleted or disabled since the event was routed.
            await asyncio.to_thread(self.deliveries.set_state, intent, "dropped")
            return
        await asyncio.to_thread(self.deliveries.set_state, intent, "sending")
        notification = Notification(
            kind=NotificationKind(intent.kind),
            event=intent.event,
            delivery_id=delivery_id(intent.event.event_id, intent.channel_id),
            public_url=self.public_url,
        )
        attempts = 0

        async def on_attempt(number: int, result: DeliveryResult) -> None:
            nonlocal attempts
            attempts = number
            await asyncio.to_thread(
                self.deliveries.record_attempt, self._attempt(intent, number, result)
            )

        sender = self._sender(channel)
        result = await deliver(
            sender, notification, policy=self.policy, on_attempt=on_attempt, sleep=self.sleep
        )
        if result.ok:
            self.delivered += 1
            await asyncio.to_thread(self.deliveries.set_state, intent, "delivered")
            return
        self.failed += 1
        await asyncio.to_thread(self.deliveries.set_state, intent, "failed")
        await self._dead_letter(intent, notification, result, attempts)

    def _sender(self, channel: NotificationChannel) -> Sender:
        cached = self._senders.get(channel.id)
        if cached is None or cached[0] != channel:
            assert self._http is not None
            cached = self._senders[channel.id] = (channel, self.senders(channel.target, self._http))
        return cached[1]

    def _attempt(self, intent: Intent, number: int, result: DeliveryResult) -> Attempt:
        return Attempt(
            channel_id=intent.channel_id,
            issue_id=intent.event.issue_id,
            event_id=intent.event.event_id,
            kind=intent.kind,
            attempt=number,
            ok=result.ok,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            at=self.clock(),
        )

    async def _dead_letter(
        self, intent: Intent, notification: Notification, result: DeliveryResult, attempts: int
    ) -> None:
        record = {
            "type": DLQ_RECORD_TYPE,
            "schema_version": 1,
            "channel_id": intent.channel_id,
            "kind": intent.kind,
            "delivery_id": notification.delivery_id,
            "attempts": attempts,
            "reason": result.error or f"status {result.status_code}",
            "status_code": result.status_code,
            "retryable": result.retryable,
            "failed_at": self.clock().isoformat(),
            "event": intent.event.model_dump(mode="json"),
        }
        producer = self._dlq
        try:
            if producer is None:
                raise RuntimeError("the dead-letter producer is not running")
            await producer.send_and_wait(
                self.dlq_topic, json.dumps(record).encode(), key=intent.event.channel_id.encode()
            )
            self.dead_lettered += 1
        except Exception as exc:
            log.error(
                "notifier: %s to %s failed (%s) and could not be dead-lettered: %s",
                intent.event.event_id,
                intent.channel_id,
                record["reason"],
                one_line(exc),
            )

    async def _wait_stopping(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()
