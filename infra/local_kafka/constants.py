"""The Kafka version and the data directory layout that every part of the broker shares.

A broker started by one process is found and stopped by another through these names,
so they live in one place rather than in the module that happens to write each file.
"""

from __future__ import annotations

KAFKA_VERSION = "4.0.1"
LOOPBACK = "127.0.0.1"

PID_FILE_NAME = "kafka.pid"
STATE_FILE_NAME = "kafka.json"
CLUSTER_ID_FILE_NAME = "cluster.id"
SERVER_PROPERTIES_NAME = "server.properties"
LOG4J_CONFIG_NAME = "log4j2.properties"
BROKER_LOG_NAME = "broker.log"
CONSOLE_LOG_NAME = "broker.out"
LOG_DIR_NAME = "log-dir"

# The broker's main class: part of its command line and of how it is recognised later.
KAFKA_MAIN = "kafka.Kafka"
