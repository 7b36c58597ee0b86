"""Tells the fold the ts of each message the presenter posted or adopted.

The ts goes back as a `message_posted` interaction on the channel's partition of
`interactions`, so the issue remembers which message is its own (buttons are checked
against it, and a restarted presenter updates that message rather than posting again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaProducer

from domain.interactions import Actor, Interaction, InteractionKind
from domain.issue_state import IssueSnapshot
from gateways.slack.message_index import MessageIndex
from wire.interactions import encode_interaction

PRESENTER = Actor(kind="alertfold", id="presenter", name="")


@dataclass
class TsAnnouncer:
    index: MessageIndex
    interactions_topic: str
    clock: Callable[[], datetime]
    producer: AIOKafkaProducer | None = None  # set while the presenter runs

    async def announce(self, channel: str, issue: IssueSnapshot, partition: int) -> None:
        """Once per ts: a ts already announced is not in `index.unannounced`."""
        ts = self.index.unannounced.get((channel, issue.id))
        if ts is None or self.producer is None:
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
        await self.producer.send_and_wait(
            self.interactions_topic,
            encode_interaction(interaction),
            key=channel.encode(),
            partition=partition,
        )
        if self.index.unannounced.get((channel, issue.id)) == ts:
            del self.index.unannounced[(channel, issue.id)]
