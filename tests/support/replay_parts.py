"""Replay processes' parts for tests: picklable, built again in each process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infra.kafka_clients import KafkaConnection
from projections.issue_event_sink import IssueEventSink


@dataclass(frozen=True)
class PartsWithoutDatabase:
    """A replay process whose database is out of reach: building its sinks fails."""

    bootstrap_servers: str

    def enter_process(self) -> None:
        pass

    def kafka(self) -> KafkaConnection:
        return KafkaConnection(self.bootstrap_servers)

    def sinks(self, generations: Mapping[str, int]) -> list[IssueEventSink]:
        raise ConnectionError("the database is out of reach")
