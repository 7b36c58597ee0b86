"""A real Apache Kafka broker (KRaft), or a cluster of them, for machines without Docker.

The broker is assembled from the ``org.apache.kafka:kafka_2.13`` jars on Maven Central
(resolved once with Maven, cached per version) and started as a plain ``java`` process,
so development and the integration tests run against the same broker code that
production uses, not an in-process fake.

Broker data is kept between runs: storage is formatted only when the data directory has
not been formatted yet, so topics and their messages survive a restart.

The broker can be owned by the ``LocalKafka`` instance that started it (stopped by the
context manager) or left running detached (``alertfold kafka start``); a pid file and a
small JSON state file in the data directory let any other process find and stop it.

Callers import from this package; the modules behind it are free to move things around.
"""

from __future__ import annotations

from infra.local_kafka.broker import DEFAULT_HEAP, LocalKafka
from infra.local_kafka.cluster import (
    DEFAULT_NODE_HEAP,
    MAX_NODES,
    LocalKafkaCluster,
    find_running_nodes,
    stop_cluster,
)
from infra.local_kafka.config import (
    NODE_ID,
    Membership,
    broker_properties,
    escape_property_value,
    is_valid_cluster_id,
    new_cluster_id,
    parse_properties,
    render_properties,
)
from infra.local_kafka.constants import (
    BROKER_LOG_NAME,
    CLUSTER_ID_FILE_NAME,
    CONSOLE_LOG_NAME,
    KAFKA_VERSION,
    LOG4J_CONFIG_NAME,
    LOG_DIR_NAME,
    LOOPBACK,
    PID_FILE_NAME,
    SERVER_PROPERTIES_NAME,
    STATE_FILE_NAME,
)
from infra.local_kafka.errors import LocalKafkaError, PortInUseError
from infra.local_kafka.files import tail_file
from infra.local_kafka.java import (
    MIN_JAVA_VERSION,
    check_java,
    java_executable,
    java_version_ok,
    parse_java_version,
)
from infra.local_kafka.ports import (
    free_port,
    metadata_answers,
    port_accepts,
    port_in_use,
    split_bootstrap,
    wait_for_kafka,
)
from infra.local_kafka.progress import Progress, print_progress
from infra.local_kafka.secured import SaslSslListener
from infra.local_kafka.state import (
    AlreadyRunningError,
    BrokerState,
    is_local_broker,
    parse_pid,
    parse_state,
    process_command_line,
    read_broker_state,
    remove_broker_state,
    running_broker,
    stop_broker,
    write_broker_state,
)

__all__ = [
    "BROKER_LOG_NAME",
    "CLUSTER_ID_FILE_NAME",
    "CONSOLE_LOG_NAME",
    "DEFAULT_HEAP",
    "DEFAULT_NODE_HEAP",
    "KAFKA_VERSION",
    "LOG4J_CONFIG_NAME",
    "LOG_DIR_NAME",
    "LOOPBACK",
    "MAX_NODES",
    "MIN_JAVA_VERSION",
    "NODE_ID",
    "PID_FILE_NAME",
    "SERVER_PROPERTIES_NAME",
    "STATE_FILE_NAME",
    "AlreadyRunningError",
    "BrokerState",
    "LocalKafka",
    "LocalKafkaCluster",
    "LocalKafkaError",
    "Membership",
    "PortInUseError",
    "Progress",
    "SaslSslListener",
    "broker_properties",
    "check_java",
    "escape_property_value",
    "find_running_nodes",
    "free_port",
    "is_local_broker",
    "is_valid_cluster_id",
    "java_executable",
    "java_version_ok",
    "metadata_answers",
    "new_cluster_id",
    "parse_java_version",
    "parse_pid",
    "parse_properties",
    "parse_state",
    "port_accepts",
    "port_in_use",
    "print_progress",
    "process_command_line",
    "read_broker_state",
    "remove_broker_state",
    "render_properties",
    "running_broker",
    "split_bootstrap",
    "stop_broker",
    "stop_cluster",
    "tail_file",
    "wait_for_kafka",
    "write_broker_state",
]
