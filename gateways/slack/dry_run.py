"""Slack without a token: what would be posted is logged, nothing is sent.

It reads `issue-events` like the real presenter will, in its own consumer group, so the log
shows the same sequence of posts and updates a channel would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiokafka import AIOKafkaConsumer

from domain.records import IssueEventRecord
from gateways.slack.blocks import reminder_text, render_issue
from gateways.slack.moves import moved_away
from gateways.slack.mrkdwn import AlertMarkup
from infra.kafka_clients import KafkaConnection
from infra.metrics import ConsumerLag
from wire.envelope import UndecodableInput
from wire.issue_events import decode_issue_event

log = logging.getLogger("alertfold.slack")

# An issue is first shown in a channel when it opens, when its notification delay has
# passed, or when it arrives from another channel.
_FIRST_SHOWN = frozenset({"IssueOpened", "NotificationDelayElapsed", "IssueArrived"})


def describe(event: IssueEventRecord, markup: AlertMarkup = "escaped") -> str:
    moved = moved_away(event)
    if moved is not None:
        message = f"the message {moved.ts}" if moved.ts else "the message"
        return (
            f"dry-run: would delete in {moved.channel_id}: {message} of issue {moved.issue_id}"
            f" (moved to {moved.to_channel_id})"
        )
    if event.type == "IssueReminded":
        return (
            f"dry-run: would reply in {event.channel_id} to the message of issue "
            f"{event.issue_id}: {reminder_text(event.issue)}"
        )
    verb = "post" if event.type in _FIRST_SHOWN else "update"
    return f"dry-run: would {verb} in {event.channel_id}: {render_issue(event.issue, markup).text}"


class DryRunPresenter:
    def __init__(
        self, kafka: KafkaConnection, topic: str, group_id: str, markup: AlertMarkup = "escaped"
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._group_id = group_id
        self._markup = markup
        self._stopping = False
        self.ready = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self._topic,
            **self._kafka.options,
            group_id=self._group_id,
            auto_offset_reset="latest",
            enable_auto_commit=True,
            isolation_level="read_committed",
        )
        await consumer.start()
        lag = ConsumerLag("presenter")
        self.ready = True
        try:
            while not self._stopping:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self._show(record.value, self._markup)
                await lag.observe(consumer)
        finally:
            self.ready = False
            lag.clear()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.stop()

    async def stop(self) -> None:
        self._stopping = True

    @staticmethod
    def _show(raw: bytes | None, markup: AlertMarkup) -> None:
        try:
            event = decode_issue_event(raw)
        except UndecodableInput as error:
            log.warning("dry-run: skipped an undecodable issue event: %s", error.reason)
            return
        if event.issue.presentable:
            ids = {"issue_id": event.issue_id, "channel_id": event.channel_id}
            log.info("%s", describe(event, markup), extra=ids)
            if log.isEnabledFor(logging.DEBUG):
                rendered = render_issue(event.issue, markup)
                log.debug("dry-run: blocks %s", json.dumps(rendered.attachments()))
        else:
            log.debug(
                "dry-run: %s %s held back by its notification delay", event.type, event.issue_id
            )
