"""The run's results: a table on stdout and a JSON document under `bench/results/`."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.figures import Figure
from bench.replay import chosen_database, database_kind

PACKAGES = ("aiokafka", "fastapi", "uvicorn", "httpx", "aiohttp", "SQLAlchemy", "pydantic")
SETUP_KEYS_SHOWN = 5


def environment(broker: str, quick: bool, partitions: int) -> dict[str, Any]:
    """What the figures depend on besides the code: machine, versions, broker, sizes."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "broker": broker,
        "partitions": partitions,
        "database": _database(),
        "quick": quick,
        # Other work on the machine shows here: figures from a busy machine are lower bounds.
        "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def _database() -> str:
    """The replay and views benchmarks take another database when asked; the rest SQLite."""
    chosen = chosen_database()
    default = "SQLite (the default DATABASE_URL)"
    return f"{default}; replay and views: {database_kind(chosen)}" if chosen else default


def relate_to_floor(figures: Sequence[Figure]) -> None:
    """Put each throughput beside the raw client's produce rate measured on the same broker."""
    floor = next((f for f in figures if f.benchmark == "floor" and "produce" in f.metric), None)
    if floor is None:
        return
    for figure in figures:
        if figure.benchmark != "floor" and figure.unit in ("alerts/s", "events/s"):
            share = round(figure.value / floor.value, 3)
            figure.setup["share_of_floor_produce"] = share
            # first in the table's setup column
            items = list(figure.setup.items())
            figure.setup.clear()
            figure.setup.update([items[-1], *items[:-1]])


def table(figures: Sequence[Figure]) -> str:
    rows = [("benchmark", "figure", "target", "setup")]
    for figure in figures:
        rows.append((figure.name, figure.value_text(), figure.target_text(), setup_text(figure)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in [*widths, 5]))
    return "\n".join(lines)


def setup_text(figure: Figure) -> str:
    shown = [
        f"{key}={value}"
        for key, value in figure.setup.items()
        if not isinstance(value, dict | list)
    ]
    return ", ".join(shown[:SETUP_KEYS_SHOWN])


def write_json(
    path: Path, env: dict[str, Any], figures: Sequence[Figure], errors: dict[str, str]
) -> None:
    document = {
        "environment": env,
        "figures": [figure.to_json() for figure in figures],
        "errors": errors,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
