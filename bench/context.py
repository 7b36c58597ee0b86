"""What every benchmark gets: the broker, a scratch directory, the run's size and its output."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.product import bench_product
from harness.product import Product
from infra.progress import ProgressDisplay

DEFAULT_PARTITIONS = 8


@dataclass
class BenchContext:
    bootstrap: str
    workdir: Path
    quick: bool
    profile: bool = False
    profiles_dir: Path = Path("profiles")
    partitions: int = DEFAULT_PARTITIONS

    def size(self, full: int, quick: int) -> int:
        """`full` for a measurement, `quick` for a smoke run that proves the command works."""
        return quick if self.quick else full

    def product(self, name: str, **env: str) -> AbstractContextManager[Product]:
        return bench_product(self.bootstrap, self.workdir / name, self.partitions, **env)

    def say(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def progress(self, label: str, total: int) -> Callable[[int], None]:
        """A callback taking how many of `total` are done; shows rate and time left."""
        display = ProgressDisplay(sys.stderr, label=f"  {label}: ", line_interval=2.0)
        started = time.monotonic()
        finished = False

        def update(done: int) -> None:
            nonlocal finished
            if finished:
                return
            elapsed = time.monotonic() - started
            if done >= total:
                finished = True
                display.finish(done, total, elapsed)
            else:
                display.update(done, total, elapsed)

        return update
