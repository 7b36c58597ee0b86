"""docs/prometheus-rules.yml, as Prometheus' own promtool reads it: valid, and each alert
fires on the series that should fire it (and not on a look-alike that should not)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.promtool import promtool_binary

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3700)]

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus-rules.yml"
WORKER = {"job": "alertfold-worker", "instance": "127.0.0.1:9420"}


@pytest.fixture(scope="module")
def promtool() -> Path:
    return promtool_binary()


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=120, check=False
    )


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    selector = ", ".join(f'{key}="{value}"' for key, value in {**WORKER, **labels}.items())
    return {"series": f"{name}{{{selector}}}", "values": values}


def fires(alert: str, at: str, severity: str = "warning", **labels: str) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": alert,
        "exp_alerts": [{"exp_labels": {"severity": severity, **labels}}],
    }


def quiet(alert: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": []}


CASES: list[dict[str, Any]] = [
    {
        "input_series": [series("up", "1 1 0 0 0 0")],
        "alert_rule_test": [
            quiet("AlertfoldPartDown", "2m"),
            fires("AlertfoldPartDown", "4m", "critical", **WORKER),
        ],
    },
    {
        "input_series": [series("alertfold_ready", "1 0 0 0 0 0 0 0")],
        "alert_rule_test": [
            quiet("AlertfoldPartNotReady", "4m"),
            fires("AlertfoldPartNotReady", "7m", **WORKER),
        ],
    },
    {
        "input_series": [
            series("alertfold_supervisor_restarts_total", "0 1 2 3", child="worker 2")
        ],
        "alert_rule_test": [
            quiet("AlertfoldPartRestarting", "1m"),
            fires("AlertfoldPartRestarting", "3m", **WORKER, child="worker 2"),
        ],
    },
    {
        "input_series": [
            series("alertfold_consumer_lag_records", "200+50x30", consumer="lookup", topic="t"),
            series("alertfold_consumer_lag_records", "5000x30", consumer="audit", topic="t"),
        ],
        "alert_rule_test": [
            quiet("AlertfoldConsumerLagGrowing", "5m"),
            fires("AlertfoldConsumerLagGrowing", "25m", **WORKER, consumer="lookup", topic="t"),
        ],
    },
    {
        "input_series": [
            series("alertfold_slack_queue_oldest_wait_seconds", "0+60x12", channel="C1"),
            series("alertfold_slack_queue_oldest_wait_seconds", "30x12", channel="C2"),
        ],
        "alert_rule_test": [
            quiet("AlertfoldSlackHeldBack", "6m"),
            fires("AlertfoldSlackHeldBack", "10m", **WORKER, channel="C1"),
        ],
    },
    {
        "input_series": [series("alertfold_slack_socket_connected", "1 0 0 0 0 0 0 0")],
        "alert_rule_test": [fires("AlertfoldSlackSocketDisconnected", "7m", **WORKER)],
    },
    {
        "input_series": [
            series("alertfold_notification_dead_letters_total", "0 0 1 1", channel="hook"),
            series("alertfold_notification_dead_letters_total", "0 0 0 0", channel="ntfy"),
        ],
        "alert_rule_test": [
            quiet("AlertfoldNotificationsDeadLettering", "1m"),
            fires("AlertfoldNotificationsDeadLettering", "3m", job=WORKER["job"], channel="hook"),
        ],
    },
    {
        "input_series": [
            series("alertfold_fold_dead_letters_total", "0 0 5 5", reason="rule"),
            series("alertfold_fold_dead_letters_total", "0 0 0 1", reason="internal"),
        ],
        "alert_rule_test": [
            quiet("AlertfoldFoldInternalErrors", "2m"),
            fires("AlertfoldFoldInternalErrors", "3m", "critical", job=WORKER["job"]),
        ],
    },
    {
        "input_series": [series("alertfold_reader_apply_failures_total", "0+1x12", reader="audit")],
        "alert_rule_test": [
            quiet("AlertfoldReadModelFailing", "3m"),
            fires("AlertfoldReadModelFailing", "10m", **WORKER, reader="audit"),
        ],
    },
    {
        "input_series": [
            series("alertfold_http_requests_total", "0+60x15", status="202", route="/alert"),
            series("alertfold_http_requests_total", "0+60x15", status="503", route="/alert"),
            series("alertfold_http_requests_total", "0+60x15", status="404", route="/issues"),
        ],
        "alert_rule_test": [fires("AlertfoldApiErrors", "12m", **WORKER)],
    },
]


def test_the_rules_are_valid(promtool: Path) -> None:
    checked = run(promtool, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_each_alert_fires_on_its_symptom_and_only_then(promtool: Path, tmp_path: Path) -> None:
    # Annotations are for people and checked by `check rules`; the firing is tested here.
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    tested_rules = tmp_path / "rules.yml"
    tested_rules.write_text(yaml.safe_dump(rules))
    every_alert = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {case["alert_rule_test"][-1]["alertname"] for case in CASES} == every_alert
    tests = tmp_path / "tests.yml"
    tests.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(tested_rules)],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", **case} for case in CASES],
            }
        )
    )
    tested = run(promtool, "test", "rules", str(tests))
    assert tested.returncode == 0, tested.stdout + tested.stderr
