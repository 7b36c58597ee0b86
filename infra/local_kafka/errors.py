"""Failures of the local broker, worded so the user knows what to do next."""

from __future__ import annotations


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
