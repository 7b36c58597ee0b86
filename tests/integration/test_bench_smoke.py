"""`python -m bench --quick` as a developer runs it: the command measures, prints its table and
saves its results, so the benchmarks cannot rot unnoticed between measurements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.plot import can_plot

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_prints_the_table_and_writes_json_and_its_chart(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    command = ["--quick", "--only", "floor", "--only", "fold", "--results-dir", str(results)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *command],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )

    assert done.returncode == 0, done.stderr[-4000:]
    assert "fold: throughput, one worker" in done.stdout
    assert "≥ 10,000 alerts/s" in done.stdout
    [saved] = results.glob("*.json")
    document = json.loads(saved.read_text())
    figures = {figure["metric"]: figure for figure in document["figures"]}
    assert figures["throughput, one worker"]["value"] > 0
    assert figures["throughput, one worker"]["setup"]["alerts"] == 2_000
    assert figures["aiokafka produce, acks=all"]["unit"] == "msg/s"
    assert document["environment"]["quick"] is True
    if can_plot():
        assert saved.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert "plot:    skipped: matplotlib is not installed" in done.stdout


def test_an_unknown_benchmark_is_refused_with_the_known_names() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "slack-flood"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "no benchmark named 'slack-flood'; known: floor, fold" in done.stderr
