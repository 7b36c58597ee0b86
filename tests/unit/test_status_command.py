"""What `alertfold status` asks and shows: the endpoints `alertfold up` runs, each part's
state, lag, uptime and last problem in one table."""

from __future__ import annotations

from rich.console import Console

from app.status_command import Endpoint, PartStatus, status_table, total_lag, up_endpoints
from infra.settings import load_settings

EXPOSITION = """\
# HELP alertfold_consumer_lag_records Committed records not read yet.
# TYPE alertfold_consumer_lag_records gauge
alertfold_consumer_lag_records{consumer="fold",partition="0",topic="alerts"} 12.0
alertfold_consumer_lag_records{consumer="fold",partition="1",topic="alerts"} 3.0
alertfold_consumer_lag_records{consumer="fold",partition="0",topic="ticks"} 0.0
# HELP alertfold_ready Ready.
# TYPE alertfold_ready gauge
alertfold_ready 1.0
"""


def rendered(statuses: list[PartStatus]) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(status_table(statuses))
    return console.export_text()


def test_up_endpoints_are_up_itself_each_part_process_and_the_api() -> None:
    settings = load_settings({"ALERTFOLD_WORKERS": "2", "ALERTFOLD_METRICS_HOST": "0.0.0.0"})
    endpoints = {e.name: e.url for e in up_endpoints(settings)}
    assert endpoints == {
        "up": "http://127.0.0.1:9400",
        "worker 1": "http://127.0.0.1:9420",
        "worker 2": "http://127.0.0.1:9421",
        "projector": "http://127.0.0.1:9440",
        "auditor": "http://127.0.0.1:9460",
        "presenter": "http://127.0.0.1:9480",
        "notifier": "http://127.0.0.1:9500",
        "api": "http://127.0.0.1:9540",
    }


def test_without_metrics_there_is_nothing_to_ask() -> None:
    assert up_endpoints(load_settings({"ALERTFOLD_METRICS_PORT": "0"})) == []


def test_lag_is_the_sum_over_every_consumer_and_partition() -> None:
    assert total_lag(EXPOSITION) == 15
    assert total_lag("# TYPE alertfold_ready gauge\nalertfold_ready 1.0\n") is None


def test_the_table_shows_state_lag_uptime_and_the_last_problem_of_each_part() -> None:
    problem = {
        "at": "2026-11-23T13:57:33+00:00",
        "level": "warning",
        "logger": "alertfold.fold",
        "message": "cannot reach Kafka [broker 1]; retrying in 2s",
    }
    text = rendered(
        [
            PartStatus(
                Endpoint("http://127.0.0.1:9420", "worker"),
                answered=True,
                ready=True,
                part="worker",
                lag=15,
                uptime_seconds=3725,
                problem=problem,
            ),
            PartStatus(
                Endpoint("http://10.0.0.2:9440"),
                answered=True,
                ready=False,
                part="projector",
                uptime_seconds=42,
            ),
            PartStatus(
                Endpoint("http://127.0.0.1:9460", "auditor"),
                answered=False,
                error="[Errno 111] Connection refused",
            ),
        ]
    )
    worker, projector, auditor = (
        next(line for line in text.splitlines() if name in line)
        for name in ("worker", "projector", "auditor")
    )
    assert "ready" in worker and "15" in worker and "1h 2m" in worker
    assert "13:57:33 warning cannot reach Kafka [broker 1]; retrying in 2s" in worker
    assert "not ready" in projector and "42s" in projector
    assert "down" in auditor and "Connection refused" in auditor
