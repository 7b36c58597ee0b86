"""Creating and checking alertfold's topics on whatever broker it is pointed at."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from infra.kafka_clients import KafkaConnection, KafkaRefused, refusal
from infra.topology import Replication, TopicSpec, replication_for

log = logging.getLogger(__name__)


class TopologyError(Exception):
    """The broker's topics contradict what alertfold needs (e.g. a partition count)."""


class BrokerUnreachable(TopologyError):
    """No answer from the cluster in time."""


async def ensure_topics(
    kafka: KafkaConnection, specs: list[TopicSpec], timeout: float = 60
) -> None:
    """Create missing topics; refuse to run on topics whose partition count differs.

    A different count would send a channel's inputs and its decisions to different
    partition numbers and break the one-writer-per-channel rule, so it is an error to fix by
    hand rather than something to paper over. New topics are replicated as the cluster's
    size allows (`replication_for`), counting the brokers that answer now. A cluster that
    refuses the connection's certificate or credentials is a `KafkaRefused` at once.
    """
    if (why := await refusal(kafka, timeout=min(timeout, 10))) is not None:
        raise KafkaRefused(why)
    admin = AIOKafkaAdminClient(**kafka.options, request_timeout_ms=15000)
    await _start_with_retry(admin, kafka.servers, timeout)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        replication = replication_for(len((await admin.describe_cluster())["brokers"]))
        while missing := await _missing(admin, specs):
            refused = await _create(admin, missing, replication)
            if not refused:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TopologyError(
                    "Kafka refused to create topics: "
                    + "; ".join(f"{name}: {reason}" for name, reason in refused.items())
                )
            # A broker that just started is fenced for a moment and refuses every topic.
            log.info("Kafka refused topics (%s); retrying", "; ".join(refused.values()))
            await asyncio.sleep(1)
        await _check_topics(admin, specs, replication)
    finally:
        await admin.close()


async def _missing(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> list[TopicSpec]:
    existing = set(await admin.list_topics())
    return [spec for spec in specs if spec.name not in existing]


async def _create(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: Replication
) -> dict[str, str]:
    """Create the topics; returns those the broker refused, with its reason."""
    # Set on the topic, not left to the broker's default, which may ask for more copies
    # in sync than the topic has and so refuse every acks=all write.
    insync = {"min.insync.replicas": str(replication.min_insync)}
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    s.name,
                    s.partitions,
                    replication.factor,
                    topic_configs={**s.config, **insync},
                )
                for s in specs
            ]
        )
    except TopicAlreadyExistsError:
        return {}
    refused = {
        str(error[0]): str(error[2] or f"error code {error[1]}")
        for error in response.topic_errors
        if error[1] not in (0, _TOPIC_ALREADY_EXISTS)
    }
    created = [s.name for s in specs if s.name not in refused]
    if created:
        log.info(
            "created topics %s (replication factor %d, min.insync.replicas %d)",
            ", ".join(created),
            replication.factor,
            replication.min_insync,
        )
    return refused


_TOPIC_ALREADY_EXISTS = 36


async def _start_with_retry(admin: AIOKafkaAdminClient, servers: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise BrokerUnreachable(
                    f"Kafka at {servers} did not answer within {timeout:.0f} s; start it "
                    "(alertfold kafka start) or fix KAFKA_BOOTSTRAP_SERVERS"
                ) from None
            await asyncio.sleep(1)


async def _check_topics(
    admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: Replication
) -> None:
    """Refuse a partition count that differs; warn of fewer copies than the cluster allows
    (a topic made while brokers were missing), which Kafka's reassignment tool can raise."""
    described = await admin.describe_topics([s.name for s in specs])
    found = {d["topic"]: d["partitions"] for d in described if not d.get("error_code")}
    for spec in specs:
        partitions = found.get(spec.name)
        if partitions is None:
            continue
        if len(partitions) != spec.partitions:
            raise TopologyError(
                f"topic {spec.name} has {len(partitions)} partitions but ALERTFOLD_PARTITIONS "
                f"is {spec.partitions}; set ALERTFOLD_PARTITIONS={len(partitions)} or recreate "
                "the topic"
            )
        copies = min(len(p["replicas"]) for p in partitions)
        if copies < replication.factor:
            log.warning(
                "topic %s keeps %d cop%s of each partition but the cluster allows %d; "
                "raise its replication factor (kafka-reassign-partitions)",
                spec.name,
                copies,
                "y" if copies == 1 else "ies",
                replication.factor,
            )


async def broker_reachable(kafka: KafkaConnection, timeout: float = 3) -> tuple[bool, str]:
    """For health checks: can we reach the cluster's metadata right now?"""
    admin = AIOKafkaAdminClient(**kafka.options, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
        return True, "ok"
    except (KafkaError, TimeoutError, OSError) as error:
        return False, f"{type(error).__name__}: {error}"
    finally:
        await admin.close()
