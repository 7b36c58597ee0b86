"""One real Apache Kafka broker for a test session, wherever the tests run.

In order of preference: the broker named by ``KAFKA_BOOTSTRAP_SERVERS`` (CI services, a
developer's own broker); a testcontainers ``apache/kafka`` container when a Docker
engine answers; otherwise the project's own ``LocalKafka``, assembled from Maven Central
jars (cached in ``<repo>/.cache``) and run with the machine's Java 17+.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.local_kafka import (
    LOOPBACK,
    LocalKafka,
    LocalKafkaError,
    SaslSslListener,
    free_port,
    java_version_ok,
    new_cluster_id,
    wait_for_kafka,
)
from tests.support.kafka_tls import KafkaCertificates, kafka_certificates

ENV_BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"
KAFKA_IMAGE = "apache/kafka:4.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
JAR_CACHE_DIR = REPO_ROOT / ".cache"
START_TIMEOUT_S = 180.0
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"

log = logging.getLogger(__name__)


def docker_available(timeout: float = 3.0) -> bool:
    """Whether a Docker engine answers a ping (quickly false when there is none)."""
    host = os.environ.get("DOCKER_HOST", "")
    socket_path = Path(host.removeprefix("unix://") or DEFAULT_DOCKER_SOCKET)
    if (not host or host.startswith("unix://")) and not socket_path.exists():
        return False  # no engine; and docker-py leaks a socket when connecting fails
    try:
        import docker

        client = docker.from_env(timeout=timeout)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            client.close()


def local_kafka_available() -> bool:
    """Whether ``session_kafka`` can provide a broker on this machine."""
    return bool(os.environ.get(ENV_BOOTSTRAP)) or docker_available() or java_version_ok()


@contextlib.contextmanager
def session_kafka(tmp_dir: Path) -> Iterator[str]:
    """Yield the bootstrap servers of a running broker; stop it afterwards if started here."""
    servers = os.environ.get(ENV_BOOTSTRAP)
    if servers:
        log.info("using Kafka at %s (%s)", servers, ENV_BOOTSTRAP)
        yield servers
        return
    if docker_available():
        with container_kafka() as servers:
            yield servers
        return
    with local_kafka(Path(tmp_dir) / "kafka") as broker:
        yield broker.bootstrap_servers


@dataclass(frozen=True)
class SecuredKafka:
    """A broker's SASL_SSL listener: clients need a certificate its CA signed and a user."""

    servers: str
    certificates: KafkaCertificates
    user: str
    password: str

    def settings(self, mechanism: str = "SCRAM-SHA-512", **changes: str) -> dict[str, str]:
        """alertfold's settings that connect through the listener (at `servers`), with
        `changes` made."""
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SSL_CA_FILE": str(self.certificates.ca.certificate_file),
            "KAFKA_SSL_CERT_FILE": str(self.certificates.client.certificate_file),
            "KAFKA_SSL_KEY_FILE": str(self.certificates.client.key_file),
            "KAFKA_SASL_MECHANISM": mechanism,
            "KAFKA_SASL_USERNAME": self.user,
            "KAFKA_SASL_PASSWORD": self.password,
            **changes,
        }


@contextlib.contextmanager
def secured_local_kafka(directory: Path, cache_dir: Path = JAR_CACHE_DIR) -> Iterator[SecuredKafka]:
    """A ``LocalKafka`` broker with a SASL_SSL listener: certificates made here, one user for
    PLAIN and both SCRAM mechanisms, clients' certificates required."""
    certificates = kafka_certificates(directory / "certificates")
    user, password = "alertfold", "secured-kafka-password"
    listener = SaslSslListener(
        certificates.broker.certificate,
        certificates.broker.key,
        {user: password},
        client_ca=certificates.ca.certificate,
    )
    with local_kafka(directory / "kafka", cache_dir, secured=listener) as broker:
        yield SecuredKafka(broker.secured_bootstrap_servers, certificates, user, password)


@contextlib.contextmanager
def local_kafka(
    data_dir: Path, cache_dir: Path = JAR_CACHE_DIR, secured: SaslSslListener | None = None
) -> Iterator[LocalKafka]:
    """A started ``LocalKafka`` broker on free loopback ports, stopped when the block exits."""
    broker = LocalKafka(cache_dir=cache_dir, data_dir=data_dir, progress=log.info, secured=secured)
    try:
        broker.start(timeout=START_TIMEOUT_S)
    except LocalKafkaError as exc:
        raise RuntimeError(
            f"could not start the local Kafka broker: {exc}\n"
            f"(set {ENV_BOOTSTRAP} to use an existing broker instead)"
        ) from exc
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def container_kafka(image: str = KAFKA_IMAGE) -> Iterator[str]:
    """An ``apache/kafka`` container (single node, KRaft) on a free host port.

    testcontainers' ``KafkaContainer`` drives the Confluent image's start scripts, which
    the Apache image does not have, so the Apache image is configured through its own
    ``KAFKA_*`` environment variables. Container and host use the same port number, so
    the advertised listener is right for clients on the host and inside the container.
    """
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    port = free_port()
    container = DockerContainer(image).with_bind_ports(port, port)
    host = container.get_docker_client().host() or LOOPBACK
    settings = {
        "CLUSTER_ID": new_cluster_id(),
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{port},CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_NUM_PARTITIONS": "8",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }
    for key, value in settings.items():
        container.with_env(key, value)
    container.waiting_for(
        LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(int(START_TIMEOUT_S))
    )
    log.info("starting %s on port %d", image, port)
    with container:
        servers = f"{host}:{port}"
        wait_for_kafka(servers, 60.0, progress=log.info)
        yield servers
