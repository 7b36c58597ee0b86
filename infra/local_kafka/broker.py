"""The ``LocalKafka`` broker: started as a plain ``java`` process, owned or detached.

The broker can be owned by the ``LocalKafka`` instance that started it (stopped by the
context manager) or left running detached (``alertfold kafka start``), to be found and
stopped later through the files that ``infra.local_kafka.state`` reads.
"""

from __future__ import annotations

import signal
import subprocess
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from infra.local_kafka.config import (
    Membership,
    broker_properties,
    check_node_options,
    properties_header,
    render_properties,
)
from infra.local_kafka.constants import (
    BROKER_LOG_NAME,
    CONSOLE_LOG_NAME,
    KAFKA_MAIN,
    KAFKA_VERSION,
    LOG4J_CONFIG_NAME,
    LOG_DIR_NAME,
    LOOPBACK,
    SERVER_PROPERTIES_NAME,
)
from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import atomic_write, file_size, packaged_bytes, startup_failure
from infra.local_kafka.jars import KafkaJars
from infra.local_kafka.java import check_java, java_command
from infra.local_kafka.ports import pick_ports, wait_for_kafka
from infra.local_kafka.progress import Progress, no_progress
from infra.local_kafka.secured import SaslSslListener
from infra.local_kafka.state import (
    AlreadyRunningError,
    BrokerState,
    record_started_broker,
    remove_broker_state,
    running_broker,
    signal_broker,
    stop_broker,
)
from infra.local_kafka.storage import ensure_cluster_id, format_storage, is_formatted

DEFAULT_HEAP = "384m"
# Only the JVM's quick compiler: a start costs about 40 % less CPU, for less peak throughput.
QUICK_START_JVM_OPTION = "-XX:TieredStopAtLevel=1"


class LocalKafka:
    """One KRaft node (combined broker and controller) on loopback: alone, or a member of a
    ``LocalKafkaCluster``.

    ``cache_dir`` holds the jars (``cache_dir/kafka/<version>/libs``); ``data_dir`` holds
    the log directory, the generated ``server.properties``, the broker's log files and,
    while it runs, its pid and state files. ``port``/``controller_port`` of 0 mean "a
    free port at each start". With ``secured`` the broker also listens for SASL_SSL clients
    (``secured_bootstrap_servers``).
    """

    def __init__(
        self,
        cache_dir: Path,
        data_dir: Path,
        port: int = 0,
        controller_port: int = 0,
        heap: str = DEFAULT_HEAP,
        *,
        version: str = KAFKA_VERSION,
        extra_properties: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        java: str | None = None,
        member: Membership | None = None,
        jvm_options: tuple[str, ...] = (),
        secured: SaslSslListener | None = None,
    ) -> None:
        check_node_options(heap, port, controller_port)
        self.cache_dir = Path(cache_dir).resolve()
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.version = version
        self.extra_properties = dict(extra_properties or {})
        self.progress: Progress = progress or no_progress
        self.java = java
        self.member = member or Membership()
        self.jvm_options = jvm_options
        self.secured = secured
        self._secured_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._state: BrokerState | None = None
        self._log_offset = 0
        self.last_start_formatted = False
        self.last_start_seconds: float | None = None

    # -- paths

    @property
    def _jars(self) -> KafkaJars:
        return KafkaJars(self.cache_dir, self.version)

    @property
    def libs_dir(self) -> Path:
        return self._jars.libs_dir

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs``: partitions, the metadata log and ``meta.properties``."""
        return self.data_dir / LOG_DIR_NAME

    @property
    def server_properties_path(self) -> Path:
        return self.data_dir / SERVER_PROPERTIES_NAME

    @property
    def broker_log_path(self) -> Path:
        return self.data_dir / BROKER_LOG_NAME

    @property
    def console_log_path(self) -> Path:
        return self.data_dir / CONSOLE_LOG_NAME

    # -- jars

    def ensure_jars(self, progress: Progress | None = None) -> Path:
        """Resolve the broker's jars from Maven Central once; return the libs directory."""
        return self._jars.ensure(progress or self.progress)

    # -- storage

    def is_formatted(self) -> bool:
        return is_formatted(self.log_dir)

    def cluster_id(self) -> str:
        """The cluster id of this data directory, created and stored on first use."""
        return ensure_cluster_id(self.data_dir, self.log_dir)

    def _format_storage(self, java: str, progress: Progress) -> None:
        format_storage(
            # A tool that runs for a second: compiling its code well would cost more.
            self._java_command(java, heap="256m", options=(QUICK_START_JVM_OPTION,)),
            cluster_id=self.cluster_id(),
            data_dir=self.data_dir,
            log_dir=self.log_dir,
            server_properties=self.server_properties_path,
            broker_log=self.broker_log_path,
            progress=progress,
            extra_arguments=self.secured.format_arguments() if self.secured else (),
        )

    # -- process

    def _java_command(
        self, java: str, heap: str | None = None, options: tuple[str, ...] | None = None
    ) -> list[str]:
        return java_command(
            java,
            heap=heap or self.heap,
            options=self.jvm_options if options is None else options,
            log4j_config=self.data_dir / LOG4J_CONFIG_NAME,
            log_file=self.broker_log_path,
            libs_dir=self.libs_dir,
        )

    def broker_command(self, java: str = "java") -> list[str]:
        """The command line that runs the broker."""
        return [*self._java_command(java), KAFKA_MAIN, str(self.server_properties_path)]

    def server_properties(self, port: int, controller_port: int, secured_port: int = 0) -> str:
        """The ``server.properties`` text for the given listener ports."""
        props = broker_properties(
            port=port,
            controller_port=controller_port,
            log_dir=self.log_dir,
            extra=self.extra_properties,
            member=self.member,
        )
        if self.secured is not None:
            props = self.secured.add_to(props, secured_port)
        return render_properties(props, properties_header(self.member, self.version))

    def start(self, timeout: float = 120.0, progress: Progress | None = None) -> str:
        """Start the broker and wait until it serves metadata; return its bootstrap address.

        Raises ``AlreadyRunningError`` when a broker of this data directory runs in
        another process, ``PortInUseError`` when the fixed port is taken, and
        ``LocalKafkaError`` (with the tail of the broker's log) when it exits or is not
        ready within ``timeout`` seconds.
        """
        report = progress or self.progress
        if self._proc is not None and self._proc.poll() is None:
            return self.bootstrap_servers
        started = time.monotonic()
        bootstrap = self.launch(report)
        self.wait_ready(max(0.0, timeout - (time.monotonic() - started)), report)
        self.last_start_seconds = time.monotonic() - started
        report(f"Kafka ready on {bootstrap} after {self.last_start_seconds:.1f} s")
        return bootstrap

    def launch(self, progress: Progress | None = None) -> str:
        """Start the broker's process and return its bootstrap address, without waiting for
        it to serve: for a cluster, whose nodes wait for each other, and for starting a
        crashed broker again while its clients retry on their own."""
        report = progress or self.progress
        self._proc = None
        existing = running_broker(self.data_dir)
        if existing is not None:
            raise AlreadyRunningError(existing)
        # Fail on a taken fixed port before any download.
        pick_ports(self.port, self.controller_port)
        java = check_java(self.java)
        self.ensure_jars(report)
        port, controller_port = pick_ports(self.port, self.controller_port)
        if self.secured is not None:
            self._secured_port = self.secured.pick_port((port, controller_port))

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / LOG4J_CONFIG_NAME).write_bytes(packaged_bytes(LOG4J_CONFIG_NAME))
        atomic_write(
            self.server_properties_path,
            self.server_properties(port, controller_port, self._secured_port),
        )
        self.last_start_formatted = False
        if not self.is_formatted():
            self._format_storage(java, report)
            self.last_start_formatted = True

        bootstrap = f"{LOOPBACK}:{port}"
        report(f"starting Kafka {self.version} on {bootstrap} (data in {self.data_dir})…")
        self._log_offset = file_size(self.broker_log_path)
        with self.console_log_path.open("wb") as console:
            proc = subprocess.Popen(
                self.broker_command(java),
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._proc = proc
        self._state = record_started_broker(
            proc.pid, port, controller_port, self.data_dir, self.version
        )
        return bootstrap

    def wait_ready(self, timeout: float, progress: Progress | None = None) -> None:
        """Wait until the launched broker serves, with every broker of its cluster; on
        failure stop it and raise ``LocalKafkaError`` with the tail of its log."""
        proc, state = self._proc, self._state
        if proc is None or state is None:
            raise LocalKafkaError("Kafka was not launched")
        bootstrap = state.bootstrap_servers
        try:
            wait_for_kafka(
                bootstrap,
                timeout,
                progress=progress or self.progress,
                alive=lambda: proc.poll() is None,
                brokers=self.member.brokers,
            )
        except (LocalKafkaError, TimeoutError) as exc:
            exited = proc.poll()
            self._kill_own(10.0)
            raise startup_failure(
                exited,
                f"Kafka was not ready on {bootstrap} within {timeout:.0f} s",
                self.heap,
                self.console_log_path,
                self.broker_log_path,
                self._log_offset,
            ) from exc
        except BaseException:
            self._kill_own(10.0)
            raise

    def _kill_own(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            signal_broker(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                signal_broker(proc.pid, signal.SIGKILL)
                proc.wait(10.0)
        remove_broker_state(self.data_dir, proc.pid)
        self._proc = None
        self._state = None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker: SIGTERM, up to ``timeout`` seconds, then SIGKILL.

        Also stops a broker of this data directory started by another process.
        """
        if self._proc is not None:
            self._kill_own(timeout)
            return
        stop_broker(self.data_dir, timeout)

    def poll(self) -> int | None:
        """The exit code of the broker this instance started, or None while it runs (or
        when it started none)."""
        return None if self._proc is None else self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the broker this instance started to exit; its exit code, or None."""
        if self._proc is None:
            return None
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        remove_broker_state(self.data_dir, self._proc.pid)
        return code

    def detach(self) -> BrokerState:
        """Leave the started broker running after this process exits."""
        state = self._state
        proc = self._proc
        if proc is None or state is None or proc.poll() is not None:
            raise LocalKafkaError("Kafka is not running; nothing to detach")
        self._proc = None
        # Dropping a running Popen warns "subprocess is still running", which is the
        # point here: the broker is meant to outlive this process.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del proc
        return state

    @property
    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        state = running_broker(self.data_dir, remove_stale=False)
        return state.pid if state else None

    @property
    def running(self) -> bool:
        """Whether a broker of this data directory runs (started here or elsewhere)."""
        if self._proc is not None:
            return self._proc.poll() is None
        return running_broker(self.data_dir, remove_stale=False) is not None

    @property
    def bootstrap_servers(self) -> str:
        if self._proc is not None and self._state is not None and self._proc.poll() is None:
            return self._state.bootstrap_servers
        state = running_broker(self.data_dir, remove_stale=False)
        if state is None:
            raise LocalKafkaError(f"Kafka is not running (data in {self.data_dir})")
        return state.bootstrap_servers

    @property
    def secured_bootstrap_servers(self) -> str:
        """The SASL_SSL listener's address, once started with ``secured``."""
        if self.secured is None or not self._secured_port:
            raise LocalKafkaError("Kafka was not started with a SASL_SSL listener")
        return f"{LOOPBACK}:{self._secured_port}"

    # -- detached brokers (another process)

    @classmethod
    def find_running(cls, data_dir: Path) -> BrokerState | None:
        """The broker of ``data_dir`` if one runs (a stale pid file is removed)."""
        return running_broker(data_dir)

    @classmethod
    def stop_running(cls, data_dir: Path, timeout: float = 30.0) -> BrokerState | None:
        """Stop the broker of ``data_dir`` from any process; None if none was running."""
        return stop_broker(data_dir, timeout)

    # -- context manager

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
