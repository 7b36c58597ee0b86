"""The plot: each figure as a share of its target, drawn by matplotlib (the `bench` extra).

One horizontal bar per figure on a log scale from 1/100 to 10 times the target, a line at
the target, green when met, red when not. Without matplotlib the run still completes: the
table and the JSON are the results, the chart is a view of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.figures import Figure

GREEN = "#3ca050"
RED = "#c83c32"
LOW, HIGH = 0.01, 10.0  # the share of target at the left and right edges
ROW_INCHES = 0.4


def can_plot() -> bool:
    """Whether matplotlib is installed (`pip install -e '.[bench]'`)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(figures: Sequence[Figure], path: Path) -> bool:
    """Write the chart of the figures that have a target; False when none has one."""
    from matplotlib.figure import Figure as Chart

    shown = [f for f in figures if f.share_of_target is not None]
    if not shown:
        return False
    shares = [min(max(f.share_of_target or 0.0, LOW), HIGH) for f in shown]
    chart = Chart(figsize=(11, 1.2 + ROW_INCHES * len(shown)), layout="constrained")
    axes = chart.subplots()
    rows = range(len(shown))
    widths = [share - LOW for share in shares]  # bars start at the left edge
    axes.barh(rows, widths, left=LOW, color=[GREEN if f.met else RED for f in shown])
    axes.set_xscale("log")
    axes.set_xlim(LOW, HIGH)
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks(list(rows), [f.name for f in shown])
    axes.invert_yaxis()  # in the table's order, top to bottom
    for row, figure in zip(rows, shown, strict=True):
        share = figure.share_of_target or 0.0
        axes.annotate(
            f"{share:.2f}  {figure.value_text()}",
            (HIGH, row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            annotation_clip=False,
        )
    axes.set_xlabel("share of target (log scale; 1 = target met exactly)")
    path.parent.mkdir(parents=True, exist_ok=True)
    chart.savefig(path, dpi=100)
    return True
