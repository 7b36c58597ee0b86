"""The broker's configuration: its cluster id and its ``server.properties``.

One node is both broker and controller, on loopback, with the replication settings a
single node can satisfy and a log cleaner small enough for the default heap.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from infra.local_kafka.constants import LOOPBACK

NODE_ID = 1


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, base64url without padding (22 characters).

    Like Kafka's ``Uuid.randomUuid`` it never starts with ``-``, which command lines
    would read as an option.
    """
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if not text.startswith("-") and any(raw):
            return text


def is_valid_cluster_id(text: str) -> bool:
    """Whether ``text`` is a cluster id Kafka's storage tool accepts."""
    if len(text) != 22 or re.fullmatch(r"[A-Za-z0-9_-]{22}", text) is None:
        return False
    try:
        return len(base64.urlsafe_b64decode(text + "==")) == 16
    except ValueError:
        return False


def escape_property_value(value: str) -> str:
    """Escape a value for a Java ``.properties`` file (read as ISO-8859-1)."""
    out: list[str] = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) > 0x7E or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    text = "".join(out)
    return "\\" + text if text.startswith(" ") else text


def broker_properties(
    *, port: int, controller_port: int, log_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The single-node broker+controller configuration, in file order."""
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        # A static voter set (formatted without --standalone) keeps no endpoint in the
        # metadata log, so the controller port may differ from one start to the next.
        "controller.quorum.voters": f"{NODE_ID}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dir),
        "num.partitions": "8",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # A restarted controller gives the previous broker incarnation a fresh session and
        # refuses its re-registration until that expires (fixed upstream by KAFKA-19130,
        # not in 4.0.x): a shorter session makes a restart ~5 s faster. Broker and
        # controller share one JVM, so only a multi-second stall of it could fence it.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        # Faust table changelogs are compacted topics: the cleaner must run. Its default
        # 128 MB dedupe buffer does not fit a small heap.
        "log.cleaner.enable": "true",
        "log.cleaner.threads": "1",
        "log.cleaner.dedupe.buffer.size": str(2 * 1024 * 1024),
    }
    if extra:
        props.update(extra)
    return props


def render_properties(props: Mapping[str, str], header: str = "") -> str:
    """Render a Java ``.properties`` file."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines.extend(f"{key}={escape_property_value(value)}" for key, value in props.items())
    return "\n".join(lines) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """Parse the simple ``key=value`` subset of ``.properties`` that Kafka writes."""
    result: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, sep, value = line.partition(":")
        if sep:
            result[key.strip()] = value.strip()
    return result
