"""Where a process spends its time: py-spy attached to it, summarised by package and function.

py-spy samples a running process from outside, so the worker runs exactly as in production.
It is not a dependency of the project: when `py-spy` is not on the PATH (or `PY_SPY` does not
name it), profiling is skipped with a message saying so.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

SAMPLE_RATE = 200
TOP = 12
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


class Profiler:
    """A py-spy recording of one process, from `attach` until `finish`."""

    def __init__(self, process: subprocess.Popen[bytes] | None, output: Path, note: str) -> None:
        self._process = process
        self._output = output
        self._note = note

    @classmethod
    def attach(cls, pid: int, output_dir: Path) -> Profiler:
        output_dir.mkdir(parents=True, exist_ok=True)
        output = output_dir / "stacks.collapsed.txt"
        executable = py_spy()
        if executable is None:
            return cls(None, output, "py-spy not found (install it, or set PY_SPY)")
        command = [executable, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE)]
        command += ["--format", "raw", "--output", str(output), "--nonblocking"]
        log = (output_dir / "py-spy.log").open("wb")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_interruptible
        )
        time.sleep(0.2)  # py-spy attaches asynchronously; a few samples lost at start are fine
        return cls(process, output, f"py-spy {SAMPLE_RATE} Hz, --nonblocking")

    def finish(self) -> dict[str, Any]:
        """Stop recording and summarise; the collapsed stacks stay on disk beside the log."""
        if self._process is None:
            return {"skipped": self._note}
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if not self._output.exists():
            return {"skipped": f"py-spy wrote nothing (see {self._output.parent}/py-spy.log)"}
        summary = summarise(self._output.read_text())
        return {"tool": self._note, "stacks": str(self._output), **summary}


def record_prefix(output: Path) -> list[str] | None:
    """The words that run a command under py-spy, writing to `output`; None without py-spy."""
    executable = py_spy()
    if executable is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    record = [executable, "record", "--rate", str(SAMPLE_RATE), "--format", "raw"]
    # `--subprocesses`: `alertfold replay` reads a large log in processes of its own.
    return [*record, "--output", str(output), "--nonblocking", "--subprocesses", "--"]


def summarise_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"skipped": "py-spy not found (install it, or set PY_SPY)"}
    return {"tool": f"py-spy {SAMPLE_RATE} Hz", "stacks": str(path), **summarise(path.read_text())}


def summarise(collapsed: str) -> dict[str, Any]:
    """Self time by package (where the CPU went) and by function, as shares of all samples."""
    by_area: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = stack.split(";")[-1]
        match = _FRAME.match(leaf)
        function, file = (match["function"], match["file"]) if match else (leaf, "?")
        by_area[area(file)] += count
        by_function[f"{function} ({_short(file)})"] += count
    if total == 0:
        return {"samples": 0}
    return {
        "samples": total,
        "self_time_by_area": _shares(by_area, total),
        "self_time_by_function": _shares(by_function, total),
    }


def area(file: str) -> str:
    """`aiokafka`, `faust`, `domain`, `asyncio`…: the package a source file belongs to.

    py-spy names files relative to their `sys.path` entry, so the first part is the package.
    """
    path = file.replace("\\", "/")
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    path = path.removeprefix("<frozen ").strip("<>")
    return path.lstrip("/").split("/", 1)[0].removesuffix(".py") or "?"


def _interruptible() -> None:
    """SIGINT stops py-spy and makes it write; a shell's background job would ignore it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _short(file: str) -> str:
    return "/".join(file.replace("\\", "/").split("/")[-2:])


def _shares(counter: Counter[str], total: int) -> list[tuple[str, float]]:
    return [(name, round(count / total, 3)) for name, count in counter.most_common(TOP)]
