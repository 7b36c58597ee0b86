"""Reading and writing the broker's files: atomic writes, log tails, packaged data.

The data files (``pom.xml``, ``log4j2.properties``) stay in the ``infra/kafka`` folder,
which the ``infra`` package data declares, so they ship with an installed package.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import re
from collections.abc import Iterator
from pathlib import Path

from infra.local_kafka.errors import LocalKafkaError

_TAIL_LINES = 30
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_STACK_FRAME = re.compile(r"^\s+(at |\.\.\. \d+ (more|common frames omitted))")


def atomic_write(path: Path, text: str) -> None:
    """Write via a rename, so another process never reads a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def tail_text(text: str, lines: int = _TAIL_LINES) -> str:
    """The last lines worth reading: no blanks, colour codes or Java stack frames.

    Without the frames, the tail shows the exception lines (which name the cause)
    instead of thirty lines of one stack trace.
    """
    cleaned = _ANSI_ESCAPE.sub("", text)
    kept = [line for line in cleaned.splitlines() if line.strip() and not _STACK_FRAME.match(line)]
    return "\n".join(kept[-lines:])


def tail_file(path: Path, lines: int = _TAIL_LINES, max_bytes: int = 64 * 1024) -> str:
    """The last ``lines`` non-empty lines of a (possibly large) text file."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    return tail_text(data.decode("utf-8", errors="replace"), lines)


def file_size(path: Path) -> int:
    """The size of ``path``, 0 when it does not exist (yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_from(path: Path, offset: int, max_bytes: int = 256 * 1024) -> str:
    """What was appended to a log after ``offset``: only this run's lines, not older ones."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size < offset:  # rolled over since: read the new file whole
                offset = 0
            handle.seek(max(offset, size - max_bytes))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def startup_tail(console_log: Path, broker_log: Path, log_offset: int) -> str:
    """What explains a failed start: the JVM's console, then the log lines of this start."""
    parts: list[str] = []
    console = tail_file(console_log, 15)
    if console:
        parts.append(f"--- {console_log} ---\n{console}")
    log_text = read_from(broker_log, log_offset)
    log_tail = tail_text(log_text) if log_text else tail_file(broker_log)
    if log_tail:
        parts.append(f"--- {broker_log} ---\n{log_tail}")
    return "\n".join(parts)


@contextlib.contextmanager
def packaged_file(name: str) -> Iterator[Path]:
    """A real path for a file shipped in ``infra/kafka`` (extracted if zipped)."""
    resource = importlib.resources.files("infra").joinpath("kafka", name)
    if not resource.is_file():
        fallback = Path(__file__).resolve().parent.parent / "kafka" / name
        if not fallback.is_file():
            raise LocalKafkaError(f"{name} is missing from the installed package (infra/kafka)")
        yield fallback
        return
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


def packaged_bytes(name: str) -> bytes:
    """The content of a file shipped in ``infra/kafka``."""
    with packaged_file(name) as path:
        return path.read_bytes()


def startup_failure(
    exited: int | None,
    not_ready: str,
    heap: str,
    console_log: Path,
    broker_log: Path,
    log_offset: int,
) -> LocalKafkaError:
    """Why the broker did not start, with the tail of its logs, and the heap to raise when
    it ran out of memory (the commonest cause on a small machine)."""
    summary = f"Kafka exited during startup with code {exited}" if exited is not None else not_ready
    details = startup_tail(console_log, broker_log, log_offset)
    if "OutOfMemoryError" in details:
        summary += f" (out of memory: raise the heap, now {heap}, e.g. --heap 512m)"
    return LocalKafkaError(f"{summary}; see {broker_log} and {console_log}", details)
