"""The broker's configuration: its cluster id and its ``server.properties``.

Every node is both broker and controller, on loopback, with a log cleaner small enough for
a small heap. A node alone keeps one copy of everything; a node of a cluster of three keeps
three (two in sync), alertfold's own topics and Kafka's internal ones (consumer offsets,
transactions) alike, so the cluster survives losing any one node.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.local_kafka.constants import LOOPBACK
from infra.topology import replication_for

NODE_ID = 1
_HEAP_PATTERN = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")


@dataclass(frozen=True)
class Membership:
    """A node's place in a cluster: its id, the controller quorum, and the cluster's size.

    ``voters`` is Kafka's ``controller.quorum.voters`` (``1@host:port,2@host:port,…``), the
    same on every node; empty means the node alone.
    """

    node_id: int = NODE_ID
    voters: str = ""
    brokers: int = 1

    def voters_with(self, controller_port: int) -> str:
        return self.voters or f"{self.node_id}@{LOOPBACK}:{controller_port}"


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
    *,
    port: int,
    controller_port: int,
    log_dir: Path,
    extra: Mapping[str, str] | None = None,
    member: Membership | None = None,
) -> dict[str, str]:
    """A broker+controller node's configuration, in file order."""
    member = member or Membership()
    copies = replication_for(member.brokers)
    factor, insync = str(copies.factor), str(copies.min_insync)
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(member.node_id),
        # A static voter set (formatted without --standalone) keeps no endpoint in the
        # metadata log, so the controller ports may differ from one start of the whole
        # cluster to the next.
        "controller.quorum.voters": member.voters_with(controller_port),
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dir),
        "num.partitions": "8",
        "default.replication.factor": factor,
        "min.insync.replicas": insync,
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": factor,
        "transaction.state.log.replication.factor": factor,
        "transaction.state.log.min.isr": insync,
        "share.coordinator.state.topic.replication.factor": factor,
        "share.coordinator.state.topic.min.isr": insync,
        "group.initial.rebalance.delay.ms": "0",
        # A restarted controller gives the previous broker incarnation a fresh session and
        # refuses its re-registration until that expires (fixed upstream by KAFKA-19130,
        # not in 4.0.x): a shorter session makes a restart ~5 s faster. In a cluster it is
        # also how long a dead node keeps its partitions' leadership and its place in their
        # in-sync replicas, which acks=all writes wait for. Only a multi-second stall of a
        # node's JVM could fence a live one, and it registers again by itself.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        # The worker's state is a compacted topic: the cleaner must run. Its default
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


def properties_header(member: Membership, version: str) -> str:
    """The comment atop `server.properties`: which node this is, and that edits are lost."""
    node = (
        f"Node {member.node_id} of a {member.brokers}-node" if member.brokers > 1 else "Single-node"
    )
    return (
        f"{node} Apache Kafka {version} (KRaft, broker+controller) for alertfold.\n"
        "Rewritten at every start of `alertfold kafka`; edits here are lost."
    )


def check_node_options(heap: str, port: int, controller_port: int) -> None:
    """Refuse what the JVM or the broker would refuse later, with less to go on."""
    if not _HEAP_PATTERN.match(heap):
        raise ValueError(f"heap must look like 384m or 1g, not {heap!r}")
    for name, value in (("port", port), ("controller_port", controller_port)):
        if not 0 <= value <= 65535:
            raise ValueError(f"{name} must be between 0 and 65535, not {value}")
    if port and port == controller_port:
        raise ValueError("port and controller_port must differ")
