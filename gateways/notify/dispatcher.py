"""The notifier: reads `issue-events`, routes each event, delivers to each channel.

The shared reader (`projections.issue_event_reader`) feeds a `NotificationSink`, which
records each batch's intents with the positions before anything of it is sent
(`gateways.notify.notification_sink`); the fresh intents come here to be delivered.

Several notifiers may run: their readers share the partitions in one consumer group, and
an intent is sent only by the notifier whose claim in the ledger moved it to `sending`.
A notifier given partitions takes over their intents that were recorded but never started
(after a crash, a stop or a rebalance); one losing partitions leaves theirs waiting in its
lanes to the next reader, and finishes only what it has started.

Each channel has its own lane (an asyncio queue and task), so a slow or dead destination
only holds up its own notifications, in order, while the others go on. After the last
failed attempt the notification goes to `notifications.dlq` with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import Attempt, DeliveryLog, Intent
from gateways.notify.metrics import (
    ATTEMPT_SECONDS,
    DEAD_LETTERS,
    NOTIFICATIONS,
    RETRIES,
    WAITING,
)
from gateways.notify.notification_sink import NotificationSink
from gateways.notify.retrying import RetryPolicy, deliver
from gateways.notify.sending import (
    DeliveryResult,
    Notification,
    NotificationKind,
    Sender,
)
from gateways.notify.services import SenderFactory, default_senders
from infra.kafka_clients import KafkaConnection
from infra.logs import one_line
from projections.issue_event_reader import IssueEventReader
from wire.notification_dead_letters import UndeliveredNotification

log = logging.getLogger(__name__)

DELIVERY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://alertfold/notifications")


def delivery_id(event_id: str, channel_id: str) -> str:
    """The same id for an (event, channel) on every attempt and after restarts."""
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}\n{channel_id}"))


class NotificationDispatcher:
    """`run()` until `stop()`; counters are for tests, logs and health checks."""

    def __init__(
        self,
        kafka: KafkaConnection,
        topic: str,
        dlq_topic: str,
        channels: ChannelStore,
        deliveries: DeliveryLog,
        *,
        group_id: str,
        policy: RetryPolicy | None = None,
        senders: SenderFactory = default_senders,
        public_url: str = "",
        http_timeout: float = 10.0,
        channel_refresh_interval: float = 2.0,
        poll_timeout_ms: int = 200,
        max_records: int = 500,
        retry_backoff: float = 0.5,
        stop_grace: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kafka = kafka
        self.dlq_topic = dlq_topic
        self.deliveries = deliveries
        self.policy = policy or RetryPolicy()
        self.senders = senders
        self.public_url = public_url
        self.http_timeout = http_timeout
        self.stop_grace = stop_grace
        self.sleep = sleep
        self.clock = clock
        self.sink = NotificationSink(
            channels,
            deliveries,
            self._hand_over,
            channel_refresh_interval=channel_refresh_interval,
        )
        self.reader = IssueEventReader(
            kafka,
            topic,
            self.sink,
            group_id=group_id,
            owner=self,
            max_records=max_records,
            poll_timeout_ms=poll_timeout_ms,
            retry_backoff=retry_backoff,
        )

        self.delivered = 0
        self.failed = 0
        self.dead_lettered = 0

        self._loop: asyncio.AbstractEventLoop | None = None
        self._senders: dict[str, tuple[NotificationChannel, Sender]] = {}
        self._lanes: dict[str, asyncio.Queue[Intent]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._sending: set[tuple[str, str]] = set()  # claimed here, not finished yet
        self._idle = asyncio.Event()  # nothing is being sent
        self._idle.set()
        self._closing = False
        self._http: httpx.AsyncClient | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._dlq_starting = asyncio.Lock()
        self._finished = asyncio.Event()
        self._finished.set()

    @property
    def ready(self) -> bool:
        """Partitions assigned and positioned: what is produced from now on is seen."""
        return self.reader.ready

    @property
    def positions(self) -> dict[int, int]:
        return self.reader.applied_offsets

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._finished.clear()
        try:
            # Fails at start, with the message naming ALERTFOLD_SECRETS_KEY, if it is missing.
            await asyncio.to_thread(self.sink.read_channels)
            async with httpx.AsyncClient(timeout=self.http_timeout) as http:
                self._http = http
                try:
                    await self.reader.run()
                finally:
                    await self._close_lanes()  # while deliveries under way can still finish
        finally:
            self._http = None
            if self._dlq is not None:
                await self._dlq.stop()
                self._dlq = None
            self._finished.set()

    async def stop(self) -> None:
        """Stop reading, finish the deliveries under way (for up to `stop_grace` seconds; one
        cut short stays `sending`), and leave what waits to the next reader."""
        await self.reader.stop()
        await self._finished.wait()

    # -- partitions ----------------------------------------------------------------------

    async def partitions_assigned(self, partitions: set[int]) -> None:
        """Queue what earlier readers of the partitions recorded but never started, in order."""
        intents = await asyncio.to_thread(self.deliveries.take_over, partitions, set(self._sending))
        for intent in intents:
            self._enqueue(intent)

    async def partitions_revoked(self, partitions: set[int]) -> None:
        """Leave the partitions' waiting intents to their next reader, which takes them over."""
        for lane in self._lanes.values():
            waiting = [lane.get_nowait() for _ in range(lane.qsize())]
            for intent in waiting:
                if intent.partition not in partitions:
                    lane.put_nowait(intent)

    # -- lanes ---------------------------------------------------------------------------

    def _hand_over(self, intent: Intent) -> None:
        """The sink's hand-over, called in the reader's worker thread after each commit."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._enqueue, intent)

    def _enqueue(self, intent: Intent) -> None:
        lane = self._lanes.get(intent.channel_id)
        if lane is None:
            lane = self._lanes[intent.channel_id] = asyncio.Queue()
            self._lane_tasks[intent.channel_id] = asyncio.create_task(
                self._drain(lane), name=f"notify-lane-{intent.channel_id}"
            )
        lane.put_nowait(intent)
        WAITING.labels(intent.channel_id).set(lane.qsize())

    async def _drain(self, lane: asyncio.Queue[Intent]) -> None:
        while True:
            intent = await lane.get()
            WAITING.labels(intent.channel_id).set(lane.qsize())
            try:
                await self._deliver(intent)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "notifier: delivering %s to %s failed",
                    intent.event.event_id,
                    intent.channel_id,
                    extra=_ids(intent),
                )

    async def _close_lanes(self) -> None:
        self._closing = True  # lanes start nothing more
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.stop_grace):
                await self._idle.wait()
        for task in self._lane_tasks.values():
            task.cancel()
        for task in self._lane_tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lanes.clear()
        self._lane_tasks.clear()

    async def _deliver(self, intent: Intent) -> None:
        """Claim the intent in the ledger and send it; another notifier's claim wins over it."""
        if self._closing:
            return  # stays pending for the next reader of its partition
        self._sending.add(intent.key)
        self._idle.clear()
        try:
            if await asyncio.to_thread(self.deliveries.claim, intent):
                await self._send(intent)
        finally:
            self._sending.discard(intent.key)
            if not self._sending:
                self._idle.set()

    async def _send(self, intent: Intent) -> None:
        channel = self.sink.channel(intent.channel_id)
        if channel is None or not channel.enabled:
            # Deleted or disabled since the event was routed.
            await asyncio.to_thread(self.deliveries.set_state, intent, "dropped")
            NOTIFICATIONS.labels(intent.channel_id, "dropped").inc()
            return
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
            ATTEMPT_SECONDS.labels(channel.target.kind).observe(result.latency_ms / 1000)
            if number > 1:
                RETRIES.labels(channel.id).inc()
            await asyncio.to_thread(
                self.deliveries.record_attempt, self._attempt(intent, number, result)
            )

        sender = self._sender(channel)
        result = await deliver(
            sender, notification, policy=self.policy, on_attempt=on_attempt, sleep=self.sleep
        )
        NOTIFICATIONS.labels(channel.id, "delivered" if result.ok else "failed").inc()
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
        letter = UndeliveredNotification(
            channel_id=intent.channel_id,
            kind=intent.kind,
            delivery_id=notification.delivery_id,
            attempts=attempts,
            reason=result.error or f"status {result.status_code}",
            status_code=result.status_code,
            retryable=result.retryable,
            failed_at=self.clock(),
            event=intent.event,
        )
        try:
            producer = await self._dead_letter_producer()
            await producer.send_and_wait(self.dlq_topic, letter.to_json(), key=letter.key)
            self.dead_lettered += 1
            DEAD_LETTERS.labels(intent.channel_id).inc()
        except Exception as exc:
            log.error(
                "notifier: %s to %s failed (%s) and could not be dead-lettered: %s",
                intent.event.event_id,
                intent.channel_id,
                letter.reason,
                one_line(exc),
                extra=_ids(intent),
            )

    async def _dead_letter_producer(self) -> AIOKafkaProducer:
        """The `notifications.dlq` producer, started at the first dead letter."""
        async with self._dlq_starting:
            if self._dlq is None:
                producer = AIOKafkaProducer(**self.kafka.options, acks="all")
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._dlq = producer
            return self._dlq


def _ids(intent: Intent) -> dict[str, str]:
    """What a structured log line names: the issue, its Slack channel, the notification's."""
    event = intent.event
    return {
        "issue_id": event.issue_id,
        "channel_id": event.channel_id,
        "notification_channel_id": intent.channel_id,
    }
