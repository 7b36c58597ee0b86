"""The topics alertfold owns: names, partition counts and retention (README "Topics").

Inputs and `issue-events` share one partition count so a channel's alerts, its later
interactions and ticks, and its decisions all sit on the same partition number.

How many copies a topic keeps follows from the cluster's size, so the same settings run on a
laptop's single broker and on a cluster that must survive losing a machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.settings import Settings

FOREVER = "-1"
TEN_MINUTES_MS = str(10 * 60 * 1000)
THIRTY_DAYS_MS = str(30 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class Replication:
    """Copies of each partition, and how many must have a write before it is acknowledged.

    With three copies and two in sync, a broker can die without refusing a write (acks=all
    waits for the two left) or losing one already acknowledged (it is on two brokers).
    """

    factor: int
    min_insync: int


MAX_REPLICATION_FACTOR = 3


def replication_for(brokers: int) -> Replication:
    """Three copies (two in sync) on three or more brokers; one copy per broker below that."""
    factor = max(1, min(brokers, MAX_REPLICATION_FACTOR))
    return Replication(factor, max(1, factor - 1))


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


def topic_specs(settings: Settings) -> list[TopicSpec]:
    n = settings.partitions
    return [
        TopicSpec(
            settings.alerts_topic,
            n,
            {"retention.ms": FOREVER, "max.message.bytes": str(8 * 1024 * 1024)},
            "alerts as received (key: channel id); replayed by audits",
        ),
        TopicSpec(
            settings.interactions_topic,
            n,
            {"retention.ms": FOREVER},
            "what people and the presenter did to issues (key: channel id); replayed by audits",
        ),
        TopicSpec(
            settings.ticks_topic,
            n,
            {"retention.ms": FOREVER},
            "the clock's ticks, one per partition per interval; replayed by audits",
        ),
        TopicSpec(
            settings.issue_events_topic,
            n,
            {"retention.ms": FOREVER},
            "the fold's decisions (key: channel id); the log of record",
        ),
        TopicSpec(
            settings.alerts_dlq_topic,
            n,
            {"retention.ms": THIRTY_DAYS_MS, "max.message.bytes": str(16 * 1024 * 1024)},
            "inputs (alerts, ticks) that could not be folded, with the reason",
        ),
        TopicSpec(
            settings.notifications_dlq_topic,
            n,
            {"retention.ms": THIRTY_DAYS_MS},
            "notifications given up after their last attempt, with the reason and the event",
        ),
        TopicSpec(
            settings.fold_state_topic,
            n,
            {
                "cleanup.policy": "compact",
                # Read back whole when a worker takes a partition: keep the uncompacted
                # tail short, so taking over after a storm stays quick.
                "segment.ms": TEN_MINUTES_MS,
                "min.cleanable.dirty.ratio": "0.1",
                "max.message.bytes": str(16 * 1024 * 1024),
            },
            "the worker's state: each channel's issues by correlation id (compacted)",
        ),
    ]
