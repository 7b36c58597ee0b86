"""The topics the worker reads and writes, declared on its Faust app."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TopicT

from infra.settings import Settings


@dataclass(frozen=True)
class Topics:
    alerts_topic: TopicT
    ticks_topic: TopicT
    interactions_topic: TopicT
    inputs_topic: TopicT  # alerts, ticks and interactions as one co-partitioned stream
    issue_events_topic: TopicT
    alerts_dlq_topic: TopicT


def declare_topics(app: faust.App, settings: Settings) -> Topics:
    """Raw bytes in and out: the values are JSON documents decoded and validated by hand,
    so a malformed one becomes a dead letter with a reason instead of a crashed stream."""

    def raw(*names: str) -> TopicT:
        return app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
        )

    return Topics(
        alerts_topic=raw(settings.alerts_topic),
        ticks_topic=raw(settings.ticks_topic),
        interactions_topic=raw(settings.interactions_topic),
        inputs_topic=raw(settings.alerts_topic, settings.ticks_topic, settings.interactions_topic),
        issue_events_topic=raw(settings.issue_events_topic),
        alerts_dlq_topic=raw(settings.alerts_dlq_topic),
    )
