"""Helm for the tests of the chart in deploy/helm: built once from its module on the Go module
proxy by scripts/helm-binary and cached under .cache/helm/ (a few minutes the first time)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "alertfold"
SCRIPT = REPO / "scripts" / "helm-binary"


@functools.cache
def helm_binary() -> Path:
    """The cached or freshly built `helm`; skips the test when Go is needed and absent."""
    cached = sorted((REPO / ".cache" / "helm").glob("*/helm"))
    if not cached and shutil.which("go") is None:
        pytest.skip("Go is needed once to build Helm (scripts/helm-binary)")
    built = subprocess.run([SCRIPT], capture_output=True, text=True, timeout=1800, check=True)
    return Path(built.stdout.strip())


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, timeout=120, check=False
    )


def rendered(*values: Path, **settings: str) -> list[dict[str, object]]:
    """The chart's manifests, rendered with the values files and `--set` settings given."""
    arguments = [argument for path in values for argument in ("-f", str(path))]
    arguments += [argument for item in settings.items() for argument in ("--set", "=".join(item))]
    result = helm("template", "alertfold", str(CHART), *arguments)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
