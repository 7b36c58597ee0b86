"""Creating and checking alertfold's topics on whatever broker it is pointed at."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from infra.topology import TopicSpec

log = logging.getLogger(__name__)


class TopologyError(Exception):
    """The broker's topics contradict what alertfold needs (e.g. a partition count)."""


class BrokerUnreachable(TopologyError):
    """No answer from the cluster in time."""


async def ensure_topics(
    bootstrap_servers: str, specs: list[TopicSpec], timeout: float = 60
) -> None:
    """Create missing topics; refuse to run on topics whose partition count differs.

    A different count would send a channel's inputs and its decisions to different
    partition numbers and break the one-writer-per-channel rule, so it is an error to fix by
    hand rather than something to paper over.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await _start_with_retry(admin, bootstrap_servers, timeout)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while missing := await _missing(admin, specs):
            refused = await _create(admin, missing)
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
        await _check_partitions(admin, specs)
    finally:
        await admin.close()


async def _missing(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> list[TopicSpec]:
    existing = set(await admin.list_topics())
    return [spec for spec in specs if spec.name not in existing]


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> dict[str, str]:
    """Create the topics; returns those the broker refused, with its reason."""
    try:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, 1, topic_configs=dict(s.config)) for s in specs]
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
        log.info("created topics %s", ", ".join(created))
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


async def _check_partitions(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> None:
    described = await admin.describe_topics([s.name for s in specs])
    counts = {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
    for spec in specs:
        have = counts.get(spec.name)
        if have is not None and have != spec.partitions:
            raise TopologyError(
                f"topic {spec.name} has {have} partitions but ALERTFOLD_PARTITIONS is "
                f"{spec.partitions}; set ALERTFOLD_PARTITIONS={have} or recreate the topic"
            )


async def broker_reachable(bootstrap_servers: str, timeout: float = 3) -> tuple[bool, str]:
    """For health checks: can we reach the cluster's metadata right now?"""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
        return True, "ok"
    except (KafkaError, TimeoutError, OSError) as error:
        return False, f"{type(error).__name__}: {error}"
    finally:
        await admin.close()
