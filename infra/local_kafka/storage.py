"""The broker's KRaft storage: its cluster id, and formatting it once.

Storage is formatted only when the log directory has not been formatted yet, so topics
and their messages survive a restart. The cluster id is made once per data directory and
afterwards read back, from the formatted storage when there is one.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from pathlib import Path

from infra.local_kafka.config import is_valid_cluster_id, new_cluster_id, parse_properties
from infra.local_kafka.constants import CLUSTER_ID_FILE_NAME
from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import atomic_write, tail_file, tail_text
from infra.local_kafka.progress import Progress

_STORAGE_TOOL_MAIN = "kafka.tools.StorageTool"
_FORMAT_TIMEOUT_S = 120.0


def is_formatted(log_dir: Path) -> bool:
    """Whether Kafka's storage tool has formatted ``log_dir`` (it writes this file last)."""
    return (log_dir / "meta.properties").is_file()


def ensure_cluster_id(data_dir: Path, log_dir: Path) -> str:
    """The cluster id of ``data_dir``, created and stored on first use."""
    meta = log_dir / "meta.properties"
    if meta.is_file():
        stored = parse_properties(meta.read_text(encoding="latin-1")).get("cluster.id")
        if stored:
            return stored
    path = data_dir / CLUSTER_ID_FILE_NAME
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="utf-8").strip()
        if is_valid_cluster_id(text):
            return text
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster_id = new_cluster_id()
    atomic_write(path, cluster_id + "\n")
    return cluster_id


def format_storage(
    java_command: list[str],
    *,
    cluster_id: str,
    data_dir: Path,
    log_dir: Path,
    server_properties: Path,
    broker_log: Path,
    progress: Progress,
    extra_arguments: Sequence[str] = (),
) -> None:
    """Run Kafka's storage tool on ``log_dir``; ``java_command`` is the JVM with classpath,
    ``extra_arguments`` more of the tool's own (SCRAM users)."""
    progress(f"formatting Kafka storage in {log_dir} (cluster id {cluster_id})…")
    command = [
        *java_command,
        _STORAGE_TOOL_MAIN,
        "format",
        "--ignore-formatted",
        "-t",
        cluster_id,
        "-c",
        str(server_properties),
        *extra_arguments,
    ]
    try:
        completed = subprocess.run(
            command,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=_FORMAT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(
            f"formatting Kafka storage in {log_dir} took over {_FORMAT_TIMEOUT_S:.0f} s"
        ) from exc
    if completed.returncode != 0 or not is_formatted(log_dir):
        raise LocalKafkaError(
            f"formatting Kafka storage in {log_dir} failed "
            f"(exit code {completed.returncode}); last lines:",
            tail_text(completed.stdout, 15) or tail_file(broker_log, 15),
        )
