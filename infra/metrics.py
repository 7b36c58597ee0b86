"""What every alertfold process tells Prometheus about itself, and how consumers report lag.

Metrics live in prometheus-client's default registry, which also carries its process
collector (CPU, memory, open files, start time) and Python collectors (GC, version): each
part's endpoint (`infra.metrics_server`) serves them all. Each metric is defined once, at
import of the module that owns it (`agents.metrics`, `projections.metrics`,
`gateways.slack.metrics`, …), as prometheus-client expects; README "Metrics" lists them.

Labels stay bounded: topics, partitions, channels, methods, outcomes; never an issue id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import Counter, Gauge, Info, disable_created_metrics

# `_created` series would double every counter a dashboard reads, and nothing here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

PART = Info("alertfold_part", "The alertfold part this process runs.")
READY = Gauge(
    "alertfold_ready",
    "1 while the part does its work (its consumer assigned and positioned, Slack "
    "connected), else 0.",
)
LOG_MESSAGES = Counter(
    "alertfold_log_messages_total", "Warnings and errors the process logged, by level.", ["level"]
)
CONSUMER_LAG = Gauge(
    "alertfold_consumer_lag_records",
    "Committed records on a partition the consumer has not read yet: the partition's last "
    "stable offset minus the consumer's position.",
    ["consumer", "topic", "partition"],
)


def announce_part(part: str, ready: Callable[[], bool]) -> None:
    """Name the process's part, and read its readiness at each scrape."""
    PART.info({"part": part})
    READY.set_function(lambda: 1.0 if ready() else 0.0)


class ConsumerLag:
    """`alertfold_consumer_lag_records` of one consumer, refreshed from what its fetches
    already told it (no request of its own), at most every `interval` seconds.

    Partitions the consumer no longer holds leave the gauge, so a revoked partition's lag is
    reported by its new owner only.
    """

    def __init__(
        self,
        consumer: str,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = consumer
        self._interval = interval
        self._monotonic = monotonic
        self._next = 0.0
        self._shown: set[tuple[str, str]] = set()

    async def observe(self, consumer: AIOKafkaConsumer, *, force: bool = False) -> None:
        now = self._monotonic()
        if now < self._next and not force:
            return
        self._next = now + self._interval
        shown: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            lag = await _lag(consumer, tp)
            if lag is not None:
                labels = (tp.topic, str(tp.partition))
                CONSUMER_LAG.labels(self._name, *labels).set(lag)
                shown.add(labels)
        self._forget(self._shown - shown)
        self._shown = shown

    def clear(self) -> None:
        """The consumer stopped: it reports no lag any more."""
        self._forget(self._shown)
        self._shown = set()

    def _forget(self, labels: set[tuple[str, str]]) -> None:
        for topic, partition in labels:
            CONSUMER_LAG.remove(self._name, topic, partition)


async def _lag(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """None until a fetch told the partition's end (or once it is no longer assigned)."""
    try:
        end: int | None = consumer.last_stable_offset(tp)
        if end is None or end < 0:  # -1 when not reading committed records only
            end = consumer.highwater(tp)
        if end is None:
            return None
        position: int = await consumer.position(tp)
    except (IllegalStateError, AssertionError):
        return None
    return max(end - position, 0)
