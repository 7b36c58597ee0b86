"""Failures of the local broker, worded so the user knows what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.local_kafka.state import BrokerState


class LocalKafkaError(RuntimeError):
    """A local broker could not be prepared, started, found or stopped.

    ``summary`` is one actionable line; ``details`` holds the output that explains it
    (Maven's or the broker's last lines), which ``str()`` appends.
    """

    def __init__(self, summary: str, details: str = "") -> None:
        self.summary = summary
        self.details = details.rstrip()
        super().__init__(f"{summary}\n{self.details}" if self.details else summary)


class PortInUseError(LocalKafkaError):
    """The requested listener port is already bound by some other process."""

    def __init__(self, port: int, role: str = "Kafka") -> None:
        self.port = port
        super().__init__(
            f"port {port} is in use by another process; pass --port or set "
            f"KAFKA_BOOTSTRAP_SERVERS to use the broker already listening there"
            if role == "Kafka"
            else f"{role} port {port} is in use by another process; pick another one"
        )


class AlreadyRunningError(LocalKafkaError):
    """A broker from the same data directory is already running."""

    def __init__(self, state: BrokerState) -> None:
        self.state = state
        super().__init__(
            f"Kafka is already running from {state.data_dir} (pid {state.pid}) on "
            f"{state.bootstrap_servers}; stop it first with `alertfold kafka stop`"
        )
