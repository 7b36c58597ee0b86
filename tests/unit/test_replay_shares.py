"""How a replay deals the partitions out to reader processes, and how many it starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.kafka_clients import KafkaConnection
from projections.replay import EVENTS_PER_PROCESS, Replay
from projections.replay_processes import shares
from tests.support.replay_parts import PartsWithoutDatabase


def replay(**options: object) -> Replay:
    return Replay(
        KafkaConnection("127.0.0.1:9"),
        "issue-events",
        [],
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        **options,  # type: ignore[arg-type]
    )


def test_partitions_are_dealt_out_in_turn() -> None:
    assert shares([3, 0, 2, 1, 4], 2) == [[0, 2, 4], [1, 3]]


def test_no_process_is_left_without_a_partition() -> None:
    assert shares([0, 1], 5) == [[0], [1]]


@pytest.fixture
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("projections.replay.os.cpu_count", lambda: 4)


@pytest.mark.usefixtures("four_cores")
def test_a_small_log_is_read_in_process() -> None:
    parts = PartsWithoutDatabase("127.0.0.1:9")
    assert replay(parts=parts)._processes(8, EVENTS_PER_PROCESS - 1) == 1


@pytest.mark.usefixtures("four_cores")
def test_a_large_log_takes_a_process_per_share_of_events_up_to_one_more_than_the_cores() -> None:
    parts = PartsWithoutDatabase("127.0.0.1:9")
    assert replay(parts=parts)._processes(8, 2 * EVENTS_PER_PROCESS) == 2
    assert replay(parts=parts)._processes(8, 100 * EVENTS_PER_PROCESS) == 5
    assert replay(parts=parts)._processes(3, 100 * EVENTS_PER_PROCESS) == 3


@pytest.mark.usefixtures("four_cores")
def test_processes_asked_for_are_capped_by_the_partitions_only() -> None:
    parts = PartsWithoutDatabase("127.0.0.1:9")
    assert replay(parts=parts, processes=6)._processes(8, 10) == 6
    assert replay(parts=parts, processes=6)._processes(2, 10) == 2


@pytest.mark.usefixtures("four_cores")
def test_without_parts_to_build_processes_with_the_replay_reads_in_process() -> None:
    assert replay(processes=4)._processes(8, 100 * EVENTS_PER_PROCESS) == 1
