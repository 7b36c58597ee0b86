"""A running broker as other processes see it: its pid and state files, and stopping it.

``alertfold kafka start`` leaves the broker running detached, so a later
``alertfold kafka stop`` (or a test session) must find it from the data directory alone,
and must never mistake a recycled pid for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from infra.local_kafka.constants import (
    KAFKA_MAIN,
    KAFKA_VERSION,
    LOOPBACK,
    PID_FILE_NAME,
    SERVER_PROPERTIES_NAME,
    STATE_FILE_NAME,
)
from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import atomic_write


@dataclass(frozen=True)
class BrokerState:
    """What a started broker left in its data directory for other processes."""

    pid: int
    port: int
    controller_port: int
    data_dir: Path
    version: str = KAFKA_VERSION
    started_at: str = ""

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "port": self.port,
                "controller_port": self.controller_port,
                "bootstrap_servers": self.bootstrap_servers,
                "version": self.version,
                "started_at": self.started_at,
            },
            indent=2,
        )


def parse_pid(text: str) -> int | None:
    """The pid in a pid file's text, or None when it holds anything else."""
    stripped = text.strip()
    if not stripped.isdigit():
        return None
    pid = int(stripped)
    return pid if pid > 0 else None


def parse_state(pid_text: str, state_text: str | None, data_dir: Path) -> BrokerState | None:
    """Combine a pid file and its JSON state file; None when either is unusable."""
    pid = parse_pid(pid_text)
    if pid is None or state_text is None:
        return None
    try:
        data = json.loads(state_text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    port, controller_port = data.get("port"), data.get("controller_port")
    if not isinstance(port, int) or not isinstance(controller_port, int):
        return None
    if data.get("pid", pid) != pid:
        return None
    version, started_at = data.get("version"), data.get("started_at")
    return BrokerState(
        pid=pid,
        port=port,
        controller_port=controller_port,
        data_dir=data_dir,
        version=version if isinstance(version, str) else KAFKA_VERSION,
        started_at=started_at if isinstance(started_at, str) else "",
    )


def read_broker_state(data_dir: Path) -> BrokerState | None:
    """The state recorded in ``data_dir`` (not checked for liveness)."""
    data_dir = data_dir.resolve()
    try:
        pid_text = (data_dir / PID_FILE_NAME).read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        state_text: str | None = (data_dir / STATE_FILE_NAME).read_text(encoding="utf-8")
    except OSError:
        state_text = None
    return parse_state(pid_text, state_text, data_dir)


def write_broker_state(state: BrokerState) -> None:
    """Record a started broker; the JSON file is written first, the pid file last."""
    atomic_write(state.data_dir / STATE_FILE_NAME, state.to_json() + "\n")
    atomic_write(state.data_dir / PID_FILE_NAME, f"{state.pid}\n")


def record_started_broker(
    pid: int, port: int, controller_port: int, data_dir: Path, version: str
) -> BrokerState:
    """The state of a broker just started, written down for other processes to find."""
    state = BrokerState(
        pid=pid,
        port=port,
        controller_port=controller_port,
        data_dir=data_dir,
        version=version,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_broker_state(state)
    return state


def remove_broker_state(data_dir: Path, pid: int | None = None) -> None:
    """Remove the pid and state files (only if they still name ``pid``, when given)."""
    data_dir = data_dir.resolve()
    if pid is not None:
        try:
            current = parse_pid((data_dir / PID_FILE_NAME).read_text(encoding="utf-8"))
        except OSError:
            current = None
        if current is not None and current != pid:
            return
    for name in (PID_FILE_NAME, STATE_FILE_NAME):
        with contextlib.suppress(FileNotFoundError):
            (data_dir / name).unlink()


def process_command_line(pid: int) -> list[str] | None:
    """The argv of a live process, or None when it is gone (or a zombie)."""
    proc_dir = Path("/proc")
    if proc_dir.is_dir():
        return _proc_command_line(proc_dir / str(pid))
    if not _pid_exists(pid):
        return None
    try:
        completed = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = completed.stdout.strip()
    return line.split() if completed.returncode == 0 and line else None


def _proc_command_line(process_dir: Path) -> list[str] | None:
    """Read ``/proc/<pid>/cmdline``, which is empty for a zombie and, briefly, for a
    process in the middle of ``exec`` (the moment ``Popen`` returns)."""
    for _ in range(20):
        try:
            raw = (process_dir / "cmdline").read_bytes()
            state = (process_dir / "stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return None
        except (OSError, IndexError):
            return None
        if raw:
            return [part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0")]
        if state in ("Z", "X"):
            return None
        time.sleep(0.05)
    return None


def is_local_broker(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live ``java kafka.Kafka`` serving ``data_dir``.

    Checking the command line, not only the pid, keeps a recycled pid from being
    mistaken for (and killed as) the broker.
    """
    argv = process_command_line(pid)
    if not argv:
        return False
    command = " ".join(argv)
    config = str(data_dir.resolve() / SERVER_PROPERTIES_NAME)
    return f" {KAFKA_MAIN} " in f" {command} " and command.endswith(config)


def running_broker(data_dir: Path, *, remove_stale: bool = True) -> BrokerState | None:
    """The live broker of ``data_dir``; a pid file naming anything else is stale.

    A stale pid file (process gone, or the pid reused by another program) is removed
    unless ``remove_stale`` is false.
    """
    data_dir = data_dir.resolve()
    state = read_broker_state(data_dir)
    if state is not None and is_local_broker(state.pid, data_dir):
        return state
    if remove_stale and (
        (data_dir / PID_FILE_NAME).exists() or (data_dir / STATE_FILE_NAME).exists()
    ):
        remove_broker_state(data_dir)
    return None


def stop_broker(data_dir: Path, timeout: float = 30.0) -> BrokerState | None:
    """Stop the broker of ``data_dir`` started by any process; None if none was running.

    SIGTERM lets Kafka shut down cleanly (flushes, clean-shutdown marker, so the next
    start skips log recovery); SIGKILL follows after ``timeout`` seconds.
    """
    data_dir = data_dir.resolve()
    state = running_broker(data_dir)
    if state is None:
        return None
    signal_broker(state.pid, signal.SIGTERM)
    if not _wait_gone(state.pid, data_dir, timeout):
        signal_broker(state.pid, signal.SIGKILL)
        if not _wait_gone(state.pid, data_dir, 10.0):
            raise LocalKafkaError(
                f"Kafka (pid {state.pid}) did not exit after SIGKILL; check `ps {state.pid}`"
            )
    remove_broker_state(data_dir, state.pid)
    return state


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_broker(pid: int, signum: signal.Signals) -> None:
    """Signal the broker's process group (it leads its own session) or just the pid."""
    with contextlib.suppress(ProcessLookupError):
        killpg = getattr(os, "killpg", None)
        getpgid = getattr(os, "getpgid", None)
        if killpg is not None and getpgid is not None and getpgid(pid) == pid:
            killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _wait_gone(pid: int, data_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_local_broker(pid, data_dir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


class AlreadyRunningError(LocalKafkaError):
    """A broker from the same data directory is already running."""

    def __init__(self, state: BrokerState) -> None:
        self.state = state
        super().__init__(
            f"Kafka is already running from {state.data_dir} (pid {state.pid}) on "
            f"{state.bootstrap_servers}; stop it first with `alertfold kafka stop`"
        )
