"""What `alertfold up` runs (workers, replicas, its broker) and how it keeps each running."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from app.supervisor import BrokerProcess, _Watch, numbered, planned_parts
from app.telemetry import metrics_port, replica_base_port
from infra.local_kafka import LocalKafka, LocalKafkaError
from infra.settings import SettingsError, load_settings


def names(**environ: str) -> list[str]:
    return [name for name, _ in planned_parts(load_settings(environ))]


def refusal(value: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings({"ALERTFOLD_REPLICAS": value})
    return str(caught.value).splitlines()[1].strip()


def test_up_runs_one_of_each_part_by_default() -> None:
    assert names() == ["worker", "projector", "auditor", "presenter", "notifier", "api"]


def test_several_workers_and_replicas_are_told_apart_by_a_number() -> None:
    planned = planned_parts(
        load_settings({"ALERTFOLD_WORKERS": "2", "ALERTFOLD_REPLICAS": "presenter=2, notifier=3"})
    )
    assert planned == [
        ("worker 1", "worker"),
        ("worker 2", "worker"),
        ("projector", "projector"),
        ("auditor", "auditor"),
        ("presenter 1", "presenter"),
        ("presenter 2", "presenter"),
        ("notifier 1", "notifier"),
        ("notifier 2", "notifier"),
        ("notifier 3", "notifier"),
        ("api", "api"),
    ]


def test_interactions_run_only_with_an_app_token_and_then_as_often_as_asked() -> None:
    assert "interactions" not in names(ALERTFOLD_REPLICAS="interactions=2")
    with_token = names(SLACK_APP_TOKEN="xapp-1", ALERTFOLD_REPLICAS="interactions=2")
    assert with_token[-2:] == ["interactions 1", "interactions 2"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("api=2", "the API cannot have replicas under `alertfold up`: they would all listen"),
        ("worker=2", "set the number of workers with ALERTFOLD_WORKERS"),
        ("clock=2", "unknown part 'clock'; parts with replicas: projector, auditor, presenter"),
        ("presenter", "'presenter' is not part=count (e.g. presenter=2)"),
        ("presenter=two", "'presenter=two' is not part=count"),
        ("presenter=0", "presenter's count must be 1 to 16, not 0"),
        ("presenter=17", "presenter's count must be 1 to 16, not 17"),
        ("presenter=2,presenter=3", "presenter is given twice"),
    ],
)
def test_a_replica_count_up_cannot_run_is_refused_in_one_line_naming_the_variable(
    value: str, problem: str
) -> None:
    line = refusal(value)
    assert line.startswith(f"ALERTFOLD_REPLICAS={value!r}: {problem}")


@pytest.mark.parametrize("value", ["0", "17", "two"])
def test_a_worker_count_up_cannot_run_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=f"ALERTFOLD_WORKERS='{value}'"):
        load_settings({"ALERTFOLD_WORKERS": value})


class Child:
    """A child whose exit the test decides."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.code: int | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.code = None

    def poll(self) -> int | None:
        return self.code


def test_a_dead_child_is_started_again_once_its_pause_is_over() -> None:
    worker, api = Child("worker 2"), Child("api")
    watch = _Watch([worker, api])
    worker.code = -9

    assert watch.step(now=0)
    assert watch.step(now=0.5) and worker.starts == 0
    assert watch.step(now=1.0) and worker.starts == 1
    assert api.starts == 0


def test_a_child_that_keeps_crashing_stops_everything() -> None:
    child = Child("local Kafka")
    watch = _Watch([child])
    for now in (0.0, 20.0, 40.0, 60.0, 80.0):
        child.code = 1
        assert watch.step(now)
        assert watch.step(now + 19)
    assert child.starts == 5
    child.code = 1
    assert not watch.step(100.0)


class BrokerThatWillNotStart(LocalKafka):
    def launch(self, progress: object = None) -> str:
        raise LocalKafkaError("port 9092 is in use by another process")


def test_a_broker_that_cannot_start_again_counts_as_a_crash(tmp_path: Path) -> None:
    broker = BrokerProcess(BrokerThatWillNotStart(tmp_path, tmp_path))
    assert broker.poll() is None

    broker.start()

    assert broker.poll() == 1


def test_the_metrics_count_a_childs_restarts_and_show_it_down_meanwhile() -> None:
    child = Child("notifier 3")
    watch = _Watch([child])
    restarts = REGISTRY.get_sample_value(
        "alertfold_supervisor_restarts_total", {"child": "notifier 3"}
    )
    child.code = -9

    watch.step(now=0)
    assert REGISTRY.get_sample_value("alertfold_supervisor_child_up", {"child": "notifier 3"}) == 0
    watch.step(now=1.0)
    assert REGISTRY.get_sample_value("alertfold_supervisor_child_up", {"child": "notifier 3"}) == 1
    after = REGISTRY.get_sample_value(
        "alertfold_supervisor_restarts_total", {"child": "notifier 3"}
    )
    assert after == (restarts or 0) + 1


def test_each_replica_of_a_part_gets_the_ports_after_the_first_ones() -> None:
    settings = load_settings({"ALERTFOLD_WORKERS": "2", "ALERTFOLD_REPLICAS": "presenter=3"})
    planned = numbered(planned_parts(settings))
    ports = {
        name: metrics_port(load_settings({"ALERTFOLD_METRICS_PORT": str(base)}), part)
        for name, part, replica in planned
        for base in [replica_base_port(settings, replica)]
    }
    assert ports["worker 1"] == 9420 and ports["worker 2"] == 9421
    assert [ports[f"presenter {n}"] for n in (1, 2, 3)] == [9480, 9481, 9482]
    assert ports["api"] == 9540
    assert len(set(ports.values())) == len(ports)


def test_no_metrics_ports_when_they_are_off() -> None:
    settings = load_settings({"ALERTFOLD_METRICS_PORT": "0"})
    assert metrics_port(settings, "worker") is None
    assert replica_base_port(settings, 2) == 0
