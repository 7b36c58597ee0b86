"""What a benchmark measured: a value, the target it is read against, and the setup behind it.

A figure without its setup (partitions, batch sizes, concurrency) cannot be compared with
another run, so the setup travels with the value into the table, the JSON and the plot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """The goal from the project's issue; `higher` says which way is better."""

    value: float
    higher: bool

    def met_by(self, value: float) -> bool:
        return value >= self.value if self.higher else value <= self.value

    def text(self, unit: str) -> str:
        return f"{'≥' if self.higher else '≤'} {_number(self.value)} {unit}"


@dataclass(frozen=True)
class Figure:
    benchmark: str
    metric: str
    value: float
    unit: str
    target: Target | None = None
    setup: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.benchmark}: {self.metric}"

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met_by(self.value)

    @property
    def share_of_target(self) -> float | None:
        """How far along the goal is, 1.0 = met exactly, whichever way is better."""
        if self.target is None or self.value <= 0 or self.target.value <= 0:
            return None
        if self.target.higher:
            return self.value / self.target.value
        return self.target.value / self.value

    def value_text(self) -> str:
        return f"{_number(self.value)} {self.unit}"

    def target_text(self) -> str:
        if self.target is None:
            return "-"
        verdict = "met" if self.met else "missed"
        return f"{self.target.text(self.unit)} ({verdict})"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        out["share_of_target"] = self.share_of_target
        return out


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
