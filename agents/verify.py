"""`alertfold verify`: fold the inputs again and compare with `issue-events`, event by event.

The re-fold runs the worker's own channel actors on an in-memory table, fed in the order the
log's decisions record (`input_order.fold_plan`), so what is checked is the code that wrote
the log, not a second implementation of it. Identical output proves the fold deterministic
on this history; the first difference is reported with where it came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.channel_actors import ChannelActors, Destination, InputTopics, Output
from agents.input_order import decisions_in, fold_plan
from agents.inputs import InputPositions, InputRecord
from domain.routing import RouteTable
from infra.kafka_clients import KafkaConnection
from wire.envelope import UndecodableInput
from wire.issue_events import decode_issue_event


@dataclass(frozen=True)
class Divergence:
    partition: int
    index: int  # position among the partition's distinct logged events
    reason: str
    logged: bytes | None = None
    refolded: bytes | None = None

    def describe(self) -> str:
        lines = [f"partition {self.partition}, event #{self.index}: {self.reason}"]
        logged, refolded = _loaded(self.logged), _loaded(self.refolded)
        for key in sorted(set(logged) | set(refolded)):
            if logged.get(key) != refolded.get(key):
                lines.append(f"  {key}: log has {_short(logged.get(key))}")
                lines.append(f"  {' ' * len(key)}  re-fold has {_short(refolded.get(key))}")
        return "\n".join(lines)


@dataclass
class PartitionResult:
    partition: int
    events: int = 0
    divergence: Divergence | None = None
    not_yet_folded: int = 0  # events the re-fold found past the log's last decision


@dataclass
class PartitionLogs:
    """One partition of each topic the fold reads and writes, as read from the broker."""

    alerts: list[InputRecord] = field(default_factory=list)
    ticks: list[InputRecord] = field(default_factory=list)
    interactions: list[InputRecord] = field(default_factory=list)
    events: list[InputRecord] = field(default_factory=list)

    def inputs(self, names: VerifyTopics) -> dict[str, list[InputRecord]]:
        return {
            names.alerts: self.alerts,
            names.ticks: self.ticks,
            names.interactions: self.interactions,
        }


def verify_partition(
    partition: int, logs: PartitionLogs, names: VerifyTopics, routes: RouteTable, partitions: int
) -> PartitionResult:
    """Re-fold one partition's inputs and compare with its logged events."""
    result = PartitionResult(partition)
    try:
        logged, duplicate = _distinct(logs.events)
        decided = [decode_issue_event(raw) for raw in logged]
    except UndecodableInput as error:
        result.divergence = Divergence(partition, 0, f"the log holds an undecodable event: {error}")
        return result
    if duplicate is not None:
        result.divergence = Divergence(
            partition, duplicate, "an event id appears twice with different contents"
        )
        return result
    inputs = logs.inputs(names)
    fold = ScratchFold(names.inputs, routes, partitions)
    plan = fold_plan(decisions_in(decided), {}, tuple(inputs))
    for step in plan:
        for record in inputs[step.topic]:
            if step.start <= record.offset < step.end:
                fold.fold(record)
    result.events = len(logged)
    result.divergence = _first_difference(partition, logged, fold.written)
    if result.divergence is None:
        before = len(fold.written)
        for topic, records in inputs.items():
            done = max((s.end for s in plan if s.topic == topic), default=0)
            for record in records:
                if record.offset >= done:
                    fold.fold(record)
        result.not_yet_folded = len(fold.written) - before
    return result


class ScratchFold:
    """The worker's fold on an in-memory table, one record at a time: the re-fold of
    `alertfold verify`, and what tests drive to see what the worker would write."""

    def __init__(
        self,
        topics: InputTopics,
        routes: RouteTable,
        partitions: int,
        table: dict[str, bytes] | None = None,
    ) -> None:
        self.actors = ChannelActors(
            {} if table is None else table, routes=routes, partitions=partitions, topics=topics
        )
        self.positions_table: dict[str, bytes] = {}
        self.positions = InputPositions(self.positions_table)
        self.written: list[bytes] = []  # the issue-events values, in order

    def fold(self, record: InputRecord) -> list[Output]:
        folded_before = self.positions.folded_before(record, self.actors.topics.all)
        outputs = self.actors.fold(record, folded_before)
        self.positions.advance(record)
        self.actors.commit()
        self.written.extend(o.value for o in outputs if o.destination is Destination.ISSUE_EVENTS)
        return outputs


@dataclass(frozen=True)
class VerifyTopics:
    alerts: str
    ticks: str
    interactions: str
    events: str

    @property
    def inputs(self) -> InputTopics:
        return InputTopics(self.alerts, self.ticks, self.interactions)


async def verify_log(
    kafka: KafkaConnection,
    names: VerifyTopics,
    routes: RouteTable,
    partitions: int,
    say: Callable[[str], None],
) -> tuple[int, list[PartitionResult]]:
    """Verify every partition; returns the total of distinct events and each result."""
    logs = await read_partition_logs(kafka, names, partitions, say)
    results = []
    for partition in range(partitions):
        result = verify_partition(partition, logs[partition], names, routes, partitions)
        say(f"partition {partition}: {result.events:,} events re-folded")
        results.append(result)
        if result.divergence is not None:
            break
    return sum(r.events for r in results), results


async def read_partition_logs(
    kafka: KafkaConnection,
    names: VerifyTopics,
    partitions: int,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[int, PartitionLogs]:
    """Every record of the three topics and of `issue-events`, by partition (held in memory).

    The events are read first: each was decided from inputs committed before it, so the
    inputs read afterwards hold every event's cause even while a worker keeps folding (its
    clock ticking, reminders firing); what came in between is folded as not yet decided.
    """
    logs = {p: PartitionLogs() for p in range(partitions)}
    for topic, attribute in (
        (names.events, "events"),
        (names.alerts, "alerts"),
        (names.ticks, "ticks"),
        (names.interactions, "interactions"),
    ):
        records = await _read_topic(kafka, topic, partitions)
        for record in records:
            getattr(logs[record.partition], attribute).append(record)
        progress(f"read {len(records):,} records from {topic}")
    return logs


async def _read_topic(kafka: KafkaConnection, topic: str, partitions: int) -> list[InputRecord]:
    """The committed records of every partition of the topic, up to its end when asked."""
    consumer = AIOKafkaConsumer(
        **kafka.options,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[InputRecord] = []
        async with asyncio.timeout(600):
            # The position, not the last record, tells the end: transaction markers take
            # offsets no record has.
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                    found.extend(InputRecord.consumed(r) for r in batch if r.offset < ends[tp])
        return sorted(found, key=lambda r: (r.partition, r.offset))
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


def _distinct(events: Sequence[InputRecord]) -> tuple[list[bytes], int | None]:
    """Logged event values without repeats (a crash repeats events byte for byte)."""
    seen: dict[str, bytes] = {}
    distinct: list[bytes] = []
    for record in events:
        value = record.value or b""
        event_id = str(json.loads(value).get("event_id"))
        if event_id in seen:
            if seen[event_id] != value:
                return distinct, len(distinct)
            continue
        seen[event_id] = value
        distinct.append(value)
    return distinct, None


def _first_difference(
    partition: int, logged: list[bytes], refolded: list[bytes]
) -> Divergence | None:
    for index, (expected, got) in enumerate(zip(logged, refolded, strict=False)):
        if expected != got:
            return Divergence(partition, index, "the re-fold decided differently", expected, got)
    if len(refolded) < len(logged):
        index = len(refolded)
        return Divergence(
            partition, index, "the log has an event the re-fold does not make", logged[index]
        )
    if len(refolded) > len(logged):
        index = len(logged)
        return Divergence(
            partition,
            index,
            "the re-fold makes an event the log does not have",
            None,
            refolded[index],
        )
    return None


def _loaded(raw: bytes | None) -> dict[str, Any]:
    return json.loads(raw) if raw else {}


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."
