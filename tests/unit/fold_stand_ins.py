"""The worker's channel actors on plain dicts, fed one record at a time, keeping what they send.

The broker and the worker's transactions are exercised by tests/integration; these pin down
what the fold does with each kind of record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from agents.channel_actors import InputTopics
from agents.inputs import InputRecord
from agents.issue_table import partition_for_channel
from agents.verify import ScratchFold
from domain.routing import RouteTable

PARTITIONS = 4
CHANNEL = "C0123ABCD"
RIGHT = partition_for_channel(CHANNEL, PARTITIONS)
TOPICS = InputTopics("alerts", "ticks", "interactions")


@dataclass
class Record:
    value: bytes | None
    offset: int
    key: bytes | None = CHANNEL.encode()
    partition: int = RIGHT
    topic: str = "alerts"
    timestamp: float = 1_795_426_000.0

    def input(self) -> InputRecord:
        return InputRecord(
            self.topic, self.partition, self.offset, self.key, self.value, self.timestamp
        )


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes
    partition: int | None


@pytest.fixture
def sent() -> list[Sent]:
    return []


@pytest.fixture
def slots() -> dict[str, bytes]:
    return {}


@pytest.fixture
def folder(slots: dict[str, bytes]) -> ScratchFold:
    return ScratchFold(TOPICS, RouteTable([]), PARTITIONS, slots)


@pytest.fixture
def bookmarks(folder: ScratchFold) -> dict[str, bytes]:
    """Where the fold stands in each input partition ("topic:partition" -> next offset)."""
    return folder.positions_table


def fold(folder: ScratchFold, record: Record, sent: list[Sent]) -> None:
    """One record, its outputs kept in `sent` under their destination's name."""
    for output in folder.fold(record.input()):
        sent.append(Sent(output.destination.value, output.key, output.value, output.partition))


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
