"""The benchmark chart: drawn by matplotlib when the `bench` extra is installed, skipped with
a message when it is not, never a failed run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.figures import Figure, Target
from bench.plot import can_plot, plot

FIGURES = [
    Figure("fold", "throughput", 1_501, "alerts/s", Target(10_000, higher=True)),
    Figure("latency", "p99", 120, "ms", Target(250, higher=False)),
    Figure("floor", "produce", 56_931, "msg/s"),
]


def test_the_chart_is_a_png_of_the_figures_with_a_target(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "chart.png"
    assert plot(FIGURES, path)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_no_chart_without_a_figure_with_a_target(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    assert not plot(FIGURES[2:], tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()


def test_without_matplotlib_the_chart_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    assert not can_plot()
