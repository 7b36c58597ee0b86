"""Finding a ``java`` new enough to run the broker, or saying what to install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from infra.local_kafka.constants import KAFKA_VERSION
from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import tail_text

MIN_JAVA_VERSION = 17

_LOG_FILE_PROPERTY = "alertfold.kafka.log.file"
_JAVA_VERSION_PATTERN = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_executable() -> str | None:
    """The ``java`` that would run the broker: ``$JAVA_HOME/bin/java``, else ``PATH``."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def parse_java_version(output: str) -> int | None:
    """The feature version (8, 11, 17, 21, ...) from ``java -version`` output."""
    match = _JAVA_VERSION_PATTERN.search(output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def check_java(java: str | None = None) -> str:
    """Return the path of a usable ``java`` or raise with what to install."""
    executable = java or java_executable()
    if executable is None:
        raise LocalKafkaError(
            f"java was not found (looked at $JAVA_HOME/bin/java and PATH); the local Kafka "
            f"broker needs Java {MIN_JAVA_VERSION} or newer: install a JDK/JRE "
            f"{MIN_JAVA_VERSION}+ or set KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
        )
    try:
        completed = subprocess.run(
            [executable, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalKafkaError(f"could not run `{executable} -version`: {exc}") from exc
    output = completed.stderr + completed.stdout
    version = parse_java_version(output)
    if version is None:
        raise LocalKafkaError(
            f"could not tell the Java version of {executable}", tail_text(output, 5)
        )
    if version < MIN_JAVA_VERSION:
        raise LocalKafkaError(
            f"Java {version} at {executable} is too old; Kafka {KAFKA_VERSION} needs Java "
            f"{MIN_JAVA_VERSION} or newer (install one and put it on PATH or in JAVA_HOME)"
        )
    return executable


def java_version_ok(java: str | None = None) -> bool:
    """Whether a ``java`` of at least version 17 is available."""
    try:
        check_java(java)
    except LocalKafkaError:
        return False
    return True


def java_command(
    java: str,
    *,
    heap: str,
    options: tuple[str, ...],
    log4j_config: Path,
    log_file: Path,
    libs_dir: Path,
) -> list[str]:
    """A JVM on the broker's jars, its log going to `log_file`; the main class comes next.

    G1 with short pauses: the broker shares small machines with the parts it serves."""
    return [
        java,
        f"-Xmx{heap}",
        *options,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_config}",
        f"-D{_LOG_FILE_PROPERTY}={log_file}",
        "-cp",
        str(libs_dir / "*"),
    ]
