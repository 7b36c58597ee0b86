"""Percentiles of measured samples (nearest-rank, so a p99 is a latency that happened)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def milliseconds(seconds: float) -> float:
    return seconds * 1000.0
