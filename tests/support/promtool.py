"""Prometheus' promtool for the tests of docs/prometheus-rules.yml.

Built once from the Prometheus module on the Go module proxy by `scripts/promtool-binary`
and cached under `.cache/promtool/<version>/`; without Go and without a cached build, the
tests that need it are skipped with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

VERSION = "v0.316.0"  # Prometheus 3.16.0
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "promtool-binary"


def promtool_binary() -> Path:
    """The promtool binary, built on first use."""
    cached = REPO_ROOT / ".cache" / "promtool" / VERSION / "promtool"
    if not cached.exists() and shutil.which("go") is None:
        pytest.skip(f"promtool {VERSION} is not built and Go is not installed to build it")
    built = subprocess.run(
        [str(BUILD_SCRIPT), VERSION], capture_output=True, text=True, timeout=3600, check=False
    )
    if built.returncode != 0:
        raise RuntimeError(f"building promtool {VERSION} failed:\n{built.stderr[-4000:]}")
    return Path(built.stdout.strip())
