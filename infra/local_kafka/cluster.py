"""A local KRaft cluster: several ``LocalKafka`` nodes, each both broker and controller.

Three nodes are the fewest that survive losing one: the controller quorum keeps a majority
(two of three voters) and every partition keeps two in-sync copies (``config.Membership``),
so a test or a developer can kill a broker and watch alertfold carry on.

The nodes live in ``<data_dir>/node-<id>``, formatted with one cluster id. The controller
quorum is a static voter set naming every node's controller port, so a node started again
alone must come back on the ports the others know: the ports of the last start are kept in
``<data_dir>/cluster.json``, and the whole cluster picks new ones only when none of it runs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from infra.local_kafka.broker import QUICK_START_JVM_OPTION, LocalKafka
from infra.local_kafka.config import Membership
from infra.local_kafka.constants import CLUSTER_ID_FILE_NAME, KAFKA_VERSION, LOOPBACK
from infra.local_kafka.errors import LocalKafkaError
from infra.local_kafka.files import atomic_write
from infra.local_kafka.ports import free_port
from infra.local_kafka.progress import Progress, no_progress
from infra.local_kafka.state import BrokerState, running_broker, stop_broker
from infra.local_kafka.storage import ensure_cluster_id

# Three JVMs share the machine: each gets less than a broker alone.
DEFAULT_NODE_HEAP = "256m"
LAYOUT_FILE_NAME = "cluster.json"
MAX_NODES = 9

T = TypeVar("T")


@dataclass(frozen=True)
class NodePorts:
    node_id: int
    port: int
    controller_port: int


class LocalKafkaCluster:
    """``brokers`` nodes on loopback; ``port`` 0 means free ports, else node ``i`` listens
    for clients on ``port + i - 1``."""

    def __init__(
        self,
        cache_dir: Path,
        data_dir: Path,
        brokers: int = 3,
        port: int = 0,
        heap: str = DEFAULT_NODE_HEAP,
        *,
        version: str = KAFKA_VERSION,
        progress: Progress | None = None,
        java: str | None = None,
    ) -> None:
        if not 1 <= brokers <= MAX_NODES:
            raise ValueError(f"a local cluster has 1 to {MAX_NODES} brokers, not {brokers}")
        if port and port + brokers - 1 > 65535:
            raise ValueError(f"ports {port} to {port + brokers - 1} do not all exist")
        self.cache_dir = Path(cache_dir).resolve()
        self.data_dir = Path(data_dir).resolve()
        self.brokers = brokers
        self.port = port
        self.heap = heap
        self.version = version
        self.progress: Progress = progress or no_progress
        self.java = java
        self.nodes: list[LocalKafka] = []
        self._launched: list[LocalKafka] = []  # the nodes this instance started and owns
        self.last_start_seconds: float | None = None

    @property
    def layout_path(self) -> Path:
        return self.data_dir / LAYOUT_FILE_NAME

    def node_dir(self, node_id: int) -> Path:
        return self.data_dir / f"node-{node_id}"

    @property
    def bootstrap_servers(self) -> str:
        """Every node's address: a client reaches the cluster through any that answers."""
        if not self.nodes:
            raise LocalKafkaError(f"the Kafka cluster in {self.data_dir} was not started here")
        return ",".join(f"{LOOPBACK}:{node.port}" for node in self.nodes)

    def node(self, node_id: int) -> LocalKafka:
        return self.nodes[node_id - 1]

    # -- starting

    def start(self, timeout: float = 180.0, progress: Progress | None = None) -> str:
        """Start every node not running yet and wait until all serve; the bootstrap list.

        Nodes still running from an earlier start are kept (and not owned here), so this
        also brings a stopped node back into its cluster.
        """
        report = progress or self.progress
        started = time.monotonic()
        ports = self._ports(keep=bool(self.running_nodes()))
        voters = ",".join(f"{p.node_id}@{LOOPBACK}:{p.controller_port}" for p in ports)
        self.nodes = [self._node(p, voters) for p in ports]
        launching = self._launched = [node for node in self.nodes if not node.running]
        if not launching:
            report(f"the Kafka cluster in {self.data_dir} already runs")
            return self.bootstrap_servers
        launching[0].ensure_jars(report)
        cluster_id = ensure_cluster_id(self.data_dir, self.nodes[0].log_dir)
        for node in launching:
            if not node.is_formatted():
                node.data_dir.mkdir(parents=True, exist_ok=True)
                atomic_write(node.data_dir / CLUSTER_ID_FILE_NAME, cluster_id + "\n")
        try:
            # Side by side: formatting and starting a JVM each take seconds.
            self._each(lambda node: node.launch(report), launching)
            self._write_layout()
            for node in launching:
                node.wait_ready(max(1.0, timeout - (time.monotonic() - started)), report)
        except BaseException:
            self._each(lambda node: node.stop(10.0), launching)
            raise
        self.last_start_seconds = time.monotonic() - started
        report(
            f"Kafka cluster of {self.brokers} ready on {self.bootstrap_servers} "
            f"after {self.last_start_seconds:.1f} s"
        )
        return self.bootstrap_servers

    def _ports(self, keep: bool) -> list[NodePorts]:
        """The ports of the last start while any node runs; else fresh ones."""
        recorded = self._read_layout()
        if keep:
            if recorded is None:
                raise LocalKafkaError(
                    f"part of the Kafka cluster in {self.data_dir} runs but {self.layout_path} "
                    "is missing; stop it with `alertfold kafka stop` and start it again"
                )
            return recorded
        taken: set[int] = set()

        def fresh(fixed: int) -> int:
            port = fixed or free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            return port

        clients = [fresh(self.port + i if self.port else 0) for i in range(self.brokers)]
        return [NodePorts(i + 1, clients[i], fresh(0)) for i in range(self.brokers)]

    def _node(self, ports: NodePorts, voters: str) -> LocalKafka:
        return LocalKafka(
            self.cache_dir,
            self.node_dir(ports.node_id),
            port=ports.port,
            controller_port=ports.controller_port,
            heap=self.heap,
            version=self.version,
            progress=self.progress,
            java=self.java,
            member=Membership(ports.node_id, voters, self.brokers),
            # Several JVMs start at once on a machine's few cores; a local cluster is for
            # seeing failover, not for peak throughput.
            jvm_options=(QUICK_START_JVM_OPTION,),
        )

    def quorum_leader(self) -> int | None:
        """The node id of the active controller, as the nodes last recorded it."""
        leaders: list[tuple[int, int]] = []
        for node in self.nodes:
            path = node.log_dir / "__cluster_metadata-0" / "quorum-state"
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                state = json.loads(path.read_text("utf-8"))
                leaders.append((int(state["leaderEpoch"]), int(state["leaderId"])))
        _, leader = max(leaders, default=(-1, -1))
        return leader if leader > 0 else None

    # -- the layout file

    def _read_layout(self) -> list[NodePorts] | None:
        try:
            layout = json.loads(self.layout_path.read_text("utf-8"))
            recorded = [NodePorts(**node) for node in layout["nodes"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if len(recorded) != self.brokers:
            raise LocalKafkaError(
                f"{self.data_dir} holds a Kafka cluster of {len(recorded)} brokers, not "
                f"{self.brokers}; start it with --brokers {len(recorded)} or use another "
                "--data-dir"
            )
        return recorded

    def _write_layout(self) -> None:
        nodes = [
            asdict(NodePorts(node.member.node_id, node.port, node.controller_port))
            for node in self.nodes
        ]
        atomic_write(self.layout_path, json.dumps({"nodes": nodes}, indent=2) + "\n")

    # -- running and stopping

    def running_nodes(self) -> list[BrokerState]:
        """The nodes of this data directory that run, started by any process."""
        return find_running_nodes(self.data_dir)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node, also those started by another process."""
        self._each(lambda node: node.stop(timeout), self.nodes)
        stop_cluster(self.data_dir, timeout)

    def detach(self) -> list[BrokerState]:
        """Leave the nodes started here running after this process exits."""
        launched, self._launched = self._launched, []
        return [node.detach() for node in launched]

    def wait(self) -> dict[int, int | None]:
        """Wait until every node started here has exited; their exit codes by node id."""
        codes = self._each(lambda node: node.wait(), self._launched)
        return {node.member.node_id: code for node, code in zip(self._launched, codes, strict=True)}

    @staticmethod
    def _each(action: Callable[[LocalKafka], T], nodes: list[LocalKafka]) -> list[T]:
        if not nodes:
            return []
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            return list(pool.map(action, nodes))


def find_running_nodes(data_dir: Path) -> list[BrokerState]:
    """The running nodes of the cluster in ``data_dir`` (none when it holds no cluster)."""
    states: list[BrokerState] = []
    with contextlib.suppress(OSError):
        for node_dir in sorted(Path(data_dir).glob("node-*")):
            state = running_broker(node_dir)
            if state is not None:
                states.append(state)
    return states


def stop_cluster(data_dir: Path, timeout: float = 30.0) -> list[BrokerState]:
    """Stop the running nodes of the cluster in ``data_dir``, whichever process started them,
    all at once: one by one, the last would wait for a controller quorum already gone."""
    running = find_running_nodes(data_dir)
    if running:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(running)) as pool:
            list(pool.map(lambda state: stop_broker(state.data_dir, timeout), running))
    return running
