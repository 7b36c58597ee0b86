"""The fold worker's metrics (README "Metrics"): what it folded, decided and dead-lettered.

Counted once a batch's transaction committed, so a batch that failed and is folded again
counts once, as readers of the topics see it.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from agents.channel_actors import Destination, InputTopics, Output
from agents.inputs import InputRecord

FOLDED_INPUTS = Counter(
    "alertfold_fold_inputs_total",
    "Input records folded, by input topic (alerts, ticks, interactions).",
    ["input"],
)
ISSUE_EVENTS = Counter(
    "alertfold_fold_issue_events_total", "Issue events written, by event type.", ["type"]
)
DEAD_LETTERS = Counter(
    "alertfold_fold_dead_letters_total",
    "Inputs the fold sent to alerts.dlq, by reason: undecodable, rule (a domain rule refused "
    "it) or internal (a bug).",
    ["reason"],
)
BATCH_RECORDS = Histogram(
    "alertfold_fold_batch_records",
    "Input records in one partition's batch (one Kafka transaction).",
    buckets=(0, 1, 5, 10, 50, 100, 500, 1000, 5000),
)
BATCH_SECONDS = Histogram(
    "alertfold_fold_batch_duration_seconds",
    "Time to fold one partition's batch and commit its transaction.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FAILED_BATCHES = Counter(
    "alertfold_fold_failed_batches_total",
    "Batches whose transaction did not commit (they are folded again).",
)
PARTITIONS_OWNED = Gauge(
    "alertfold_fold_partitions_owned", "Input partitions this worker folds now."
)


def count_committed(
    topics: InputTopics,
    records: Iterable[InputRecord],
    outputs: Iterable[Output],
    seconds: float,
) -> None:
    """One committed batch: its inputs, what it wrote, and how long it took."""
    inputs = Tally(_input_name(topics, record.topic) for record in records)
    for name, count in inputs.items():
        FOLDED_INPUTS.labels(name).inc(count)
    for output in outputs:
        if output.destination is Destination.ISSUE_EVENTS:
            ISSUE_EVENTS.labels(output.kind).inc()
        elif output.destination is Destination.DEAD_LETTERS:
            DEAD_LETTERS.labels(output.kind).inc()
    BATCH_RECORDS.observe(sum(inputs.values()))
    BATCH_SECONDS.observe(seconds)


def _input_name(topics: InputTopics, topic: str) -> str:
    """The input's name without the installation's topic prefix: the same everywhere."""
    return {
        topics.alerts: "alerts",
        topics.ticks: "ticks",
        topics.interactions: "interactions",
    }.get(topic, "other")
