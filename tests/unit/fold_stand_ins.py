"""Stand-ins for the fold agent's Faust parts: topics that record what was sent, a broker
copy to read gaps back from, and plain dicts for the tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from agents.fold_agent import AlertFolder
from agents.fold_progress import FoldProgress
from agents.inputs import InputRecord
from agents.issue_table import partition_for_channel
from agents.topics import Topics
from domain.routing import RouteTable

PARTITIONS = 4
CHANNEL = "C0123ABCD"
RIGHT = partition_for_channel(CHANNEL, PARTITIONS)


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class Record:
    value: bytes | None
    offset: int
    key: bytes | None = CHANNEL.encode()
    partition: int = RIGHT
    topic: str = "alerts"
    timestamp: float = 1_795_426_000.0

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None


@dataclass(frozen=True)
class Metadata:
    offset: int


class FakeTopic:
    def __init__(self, name: str, log: list[Sent]) -> None:
        self.name = name
        self.log = log

    def get_topic_name(self) -> str:
        return self.name

    async def send(
        self, *, key: bytes | None, value: bytes, partition: int | None = None, **_: Any
    ) -> Any:
        offset = sum(1 for s in self.log if s.topic == self.name and s.partition == partition)
        self.log.append(Sent(self.name, key, value, partition))

        async def acked() -> Metadata:
            return Metadata(offset)

        return acked()


@dataclass
class FakeGapReader:
    """The broker's copy of the topics, for reading back records Faust skipped."""

    log: dict[int, Record] = field(default_factory=dict)
    ticks: dict[int, Record] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    reads: list[tuple[int, int]] = field(default_factory=list)

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[Any]:
        if topic == "issue-events":
            return (await self.read_to_end(topic, partition, start))[: end - start]
        self.reads.append((start, end))
        source = self.ticks if topic == "ticks" else self.log
        return [InputRecord.of(source[o]) for o in range(start, end) if o in source]

    async def read_to_end(
        self, topic: str, partition: int, start: int, limit: int | None = None
    ) -> list[Any]:
        if topic != "issue-events":
            source = self.ticks if topic == "ticks" else self.log if topic == "alerts" else {}
            ends = [o for o in source if o >= start][: limit or None]
            return await self.read(topic, partition, start, max(ends) + 1) if ends else []
        written = [s for s in self.sent if s.topic == topic and s.partition == partition]
        return [
            InputRecord(topic, partition, offset, s.key, s.value, 0.0)
            for offset, s in enumerate(written)
            if offset >= start
        ]


@pytest.fixture
def sent() -> list[Sent]:
    return []


@pytest.fixture
def gaps(sent: list[Sent]) -> FakeGapReader:
    return FakeGapReader(sent=sent)


@pytest.fixture
def slots() -> dict[str, bytes]:
    return {}


@pytest.fixture
def bookmarks() -> dict[str, bytes]:
    return {}


@pytest.fixture
def folder(
    sent: list[Sent], gaps: FakeGapReader, slots: dict[str, bytes], bookmarks: dict[str, bytes]
) -> AlertFolder:
    topics = Topics(
        alerts_topic=FakeTopic("alerts", sent),  # type: ignore[arg-type]
        ticks_topic=FakeTopic("ticks", sent),  # type: ignore[arg-type]
        interactions_topic=FakeTopic("interactions", sent),  # type: ignore[arg-type]
        inputs_topic=FakeTopic("alerts+ticks", sent),  # type: ignore[arg-type]
        issue_events_topic=FakeTopic("issue-events", sent),  # type: ignore[arg-type]
        alerts_dlq_topic=FakeTopic("alerts.dlq", sent),  # type: ignore[arg-type]
    )
    return AlertFolder(
        table=slots,
        progress=FoldProgress(bookmarks, gaps),
        topics=topics,
        routes=RouteTable([]),
        partitions=PARTITIONS,
    )


async def handle(folder: AlertFolder, record: Any) -> None:
    """One record as a batch of one, as the agent hands Faust's messages over."""
    await folder.handle([record])


def alert(**fields: Any) -> bytes:
    return json.dumps(
        {
            "slackChannelId": CHANNEL,
            "correlationId": "db",
            "header": "Down",
            "timestamp": "2026-11-23T09:00:00Z",
            **fields,
        }
    ).encode()
