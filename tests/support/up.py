"""`alertfold up` as a user runs it: its own broker on free ports, its output collected."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.waiting import eventually
from infra.local_kafka import free_port
from tests.support.metrics import free_metrics_base

REPO = Path(__file__).resolve().parents[2]


class Output:
    """Everything the process printed so far, collected by a reader thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: self.lines.extend(stream), daemon=True).start()

    def has(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def __str__(self) -> str:
        return "".join(self.lines[-60:])


@dataclass
class Up:
    api: str
    process: subprocess.Popen[str]
    output: Output
    data_dir: Path
    env: dict[str, str]

    def wait_until_up(self) -> None:
        eventually(
            lambda: self.output.has("up. API listening on") or self.process.poll() is not None,
            timeout=180,
            what="alertfold up to announce the API",
        )
        assert self.process.poll() is None, str(self.output)

    def children(self, part: str) -> list[int]:
        """The pids of `alertfold <part>` processes started by `up`."""
        return children_running(self.process.pid, part)


@contextmanager
def running_up(workdir: Path, **env: str) -> Iterator[Up]:
    """`alertfold up` in `workdir` on its own local broker, stopped with Ctrl-C at the end."""
    environment = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    api_port, kafka_port = free_port(), free_port()
    environment |= {
        "ALERTFOLD_DATA_DIR": str(workdir / "data"),
        "ALERTFOLD_CACHE_DIR": str(REPO / ".cache"),
        "ALERTFOLD_API_PORT": str(api_port),
        "ALERTFOLD_KAFKA_PORT": str(kafka_port),
        "ALERTFOLD_METRICS_PORT": str(free_metrics_base()),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up"],
        env=environment,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Up(
            f"http://127.0.0.1:{api_port}", process, Output(process), workdir / "data", environment
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def children_running(parent: int, part: str) -> list[int]:
    """The pids of `alertfold <part>` started by `parent`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and command[-2:-1] == [part.encode()]:
            pids.append(int(entry.name))
    return sorted(pids)
