"""The broker's jars: resolved once from Maven Central with the packaged ``pom.xml``.

The jars are cached per Kafka version and tagged with the POM's digest, so a changed POM
(another dependency, another exclusion) resolves them again instead of reusing stale ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import atomic_write, packaged_bytes, packaged_file, tail_text
from infra.local_kafka.progress import Progress

_RESOLVED_MARKER = "resolved.json"
_MVN_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class KafkaJars:
    """The jars of one Kafka version under ``cache_dir/kafka/<version>/libs``."""

    cache_dir: Path
    version: str

    @property
    def version_dir(self) -> Path:
        return self.cache_dir / "kafka" / self.version

    @property
    def libs_dir(self) -> Path:
        return self.version_dir / "libs"

    def ready(self) -> bool:
        """Whether the jars for this version were resolved from the current POM."""
        try:
            marker = json.loads((self.version_dir / _RESOLVED_MARKER).read_text("utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(marker, dict) or marker.get("pom_sha256") != pom_digest():
            return False
        return (self.libs_dir / f"kafka_2.13-{self.version}.jar").is_file()

    def ensure(self, report: Progress) -> Path:
        """Resolve the broker's jars from Maven Central once; return the libs directory."""
        if self.ready():
            return self.libs_dir
        with _exclusive_lock(self.version_dir.parent / f".{self.version}.lock"):
            if self.ready():
                return self.libs_dir
            report(f"resolving Kafka {self.version} jars from Maven Central…")
            started = time.monotonic()
            count = self._resolve()
            report(
                f"resolved {count} jars into {self.libs_dir} in {time.monotonic() - started:.1f} s"
            )
        return self.libs_dir

    def _resolve(self) -> int:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalKafkaError(
                f"mvn (Apache Maven) was not found on PATH; it is needed once to download "
                f"the Kafka {self.version} jars from Maven Central into {self.libs_dir} "
                f"(install Maven 3, or set KAFKA_BOOTSTRAP_SERVERS to use an existing broker)"
            )
        self.version_dir.mkdir(parents=True, exist_ok=True)
        staging = self.version_dir / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        with packaged_file("pom.xml") as pom:
            command = [
                mvn,
                "-B",
                "-q",
                "-Dstyle.color=never",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
                f"-Dkafka.version={self.version}",
            ]
            try:
                completed = subprocess.run(
                    command,
                    cwd=self.version_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    timeout=_MVN_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                shutil.rmtree(staging, ignore_errors=True)
                output = exc.output if isinstance(exc.output, str) else ""
                raise LocalKafkaError(
                    f"`mvn dependency:copy-dependencies` for Kafka {self.version} did not "
                    f"finish within {_MVN_TIMEOUT_S:.0f} s (slow or no access to Maven Central?)",
                    tail_text(output, 15),
                ) from exc
            except OSError as exc:
                raise LocalKafkaError(f"could not run {mvn}: {exc}") from exc
        jars = sorted(staging.glob("*.jar")) if staging.is_dir() else []
        if completed.returncode != 0 or not jars:
            shutil.rmtree(staging, ignore_errors=True)
            what = (
                f"exited with code {completed.returncode}"
                if completed.returncode != 0
                else "produced no jars"
            )
            raise LocalKafkaError(
                f"`mvn dependency:copy-dependencies` resolving Kafka {self.version} from "
                f"Maven Central {what}; last lines of its output:",
                tail_text(completed.stdout or "(no output)", 15),
            )
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        os.replace(staging, self.libs_dir)
        marker = {
            "version": self.version,
            "pom_sha256": pom_digest(),
            "jars": [jar.name for jar in jars],
            "resolved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write(self.version_dir / _RESOLVED_MARKER, json.dumps(marker, indent=2) + "\n")
        return len(jars)


def pom_digest() -> str:
    """The SHA-256 of the packaged POM, which the resolved jars are tagged with."""
    return hashlib.sha256(packaged_bytes("pom.xml")).hexdigest()


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """An inter-process lock, so parallel test sessions resolve the jars only once."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
