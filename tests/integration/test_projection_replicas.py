"""Two projectors and two auditors on one database equal a single one of each.

Each copy reads every partition and writes idempotently (a lookup row moves only to a newer
issue version; the audit store keeps the first event recorded at each version), so copies
racing on the same rows must leave what one copy alone leaves. Here on the real broker, in
real SQLite and PostgreSQL: all four start together on an empty database, events flow
(duplicates and moves included) while they run, and the result is compared with a single
projector and auditor reading the same topic into a fresh database.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from domain.records import IssueEventRecord
from harness.stories import IssueStory, channel_key
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from projections.audit_runner import Auditor
from projections.audit_store import AuditStore
from projections.issue_event_reader import IssueEventReader
from projections.lookup_store import LookupStore
from projections.move_mappings import MoveMapping
from projections.runner import LookupProjector
from tests.integration.test_lookup_projector import create_topic
from wire.issue_events import encode_issue_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

PARTITIONS = 4
CAUGHT_UP = 60.0


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases: the replicas' and the single copy's."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/replicas.db", f"sqlite:///{tmp_path}/single.db"
        return
    server: str = request.getfixturevalue("postgres_server_url")
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    replicas, single = (server.rsplit("/", 1)[0] + f"/{name}" for name in names)
    yield replicas, single


@dataclass
class Copy:
    """One projector and one auditor, each with its own connections to the database."""

    lookup: LookupStore
    audit: AuditStore
    projector: LookupProjector
    auditor: Auditor

    @property
    def readers(self) -> list[IssueEventReader[Any]]:
        return [self.projector, self.auditor]


def open_copy(bootstrap: str, topic: str, database_url: str) -> Copy:
    lookup = LookupStore(create_database_engine(database_url))
    lookup.create_schema()
    audit = AuditStore.open(database_url)
    options: dict[str, Any] = {"max_records": 50, "retry_backoff": 0.05}
    return Copy(
        lookup,
        audit,
        LookupProjector(KafkaConnection(bootstrap), topic, lookup, **options),
        Auditor(KafkaConnection(bootstrap), topic, audit, **options),
    )


async def open_copies(count: int, bootstrap: str, topic: str, database_url: str) -> list[Copy]:
    """`count` copies opened at the same moment, as processes started together do."""
    return list(
        await asyncio.gather(
            *(asyncio.to_thread(open_copy, bootstrap, topic, database_url) for _ in range(count))
        )
    )


@contextlib.asynccontextmanager
async def running(copies: list[Copy]) -> AsyncIterator[None]:
    readers = [reader for copy in copies for reader in copy.readers]
    tasks = [asyncio.create_task(reader.run()) for reader in readers]
    try:
        yield
        for reader in readers:
            await reader.wait_until_caught_up(CAUGHT_UP)
    finally:
        for reader in readers:
            await asyncio.wait_for(reader.stop(), 15)
        await asyncio.gather(*tasks)
        for copy in copies:
            copy.audit.close()


class Flow:
    """Issue stories told in waves: opened, grouped, moved, resolved; some written twice."""

    def __init__(self, count: int) -> None:
        self.stories = [IssueStory(f"i-{n}", f"C{n % 6}") for n in range(count)]
        self.waves: list[Callable[[IssueStory], list[IssueEventRecord]]] = [
            lambda story: [story.opened()],
            lambda story: [story.grouped(), story.grouped("and another")],
            lambda story: (
                [story.moved(f"M{story.issue_id[-1]}"), story.arrived()]
                if story.issue_id.endswith(("3", "7"))
                else [story.grouped("once more")]
            ),
            lambda story: [story.resolved()],
        ]

    def wave(self, number: int) -> list[IssueEventRecord]:
        events = [event for story in self.stories for event in self.waves[number](story)]
        return events + events[::7]  # what a fold writes again after a crash


async def produce(bootstrap: str, topic: str, events: list[IssueEventRecord]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, encode_issue_event(e), key=channel_key(e).encode())
            for e in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def moves(store: LookupStore) -> list[MoveMapping]:
    """The move mappings by key (moves at the same moment may be listed in either order)."""
    return sorted(store.move_mappings(), key=lambda m: (m.channel_id, m.correlation_id))


async def test_two_projectors_and_two_auditors_leave_what_a_single_one_of_each_leaves(
    kafka_bootstrap_servers: str, databases: tuple[str, str]
) -> None:
    replicas_url, single_url = databases
    topic = f"issue-events-{uuid.uuid4().hex[:12]}"
    await create_topic(kafka_bootstrap_servers, topic, PARTITIONS)
    flow = Flow(count=80)

    replicas = await open_copies(2, kafka_bootstrap_servers, topic, replicas_url)
    async with running(replicas):
        for number in range(len(flow.waves)):
            await produce(kafka_bootstrap_servers, topic, flow.wave(number))
            await asyncio.sleep(0.2)  # the copies read while the next wave is written

    [single] = await open_copies(1, kafka_bootstrap_servers, topic, single_url)
    async with running([single]):
        pass

    reopened, alone = (AuditStore.open(url) for url in (replicas_url, single_url))
    try:
        assert replicas[0].lookup.rows() == single.lookup.rows()
        assert moves(replicas[0].lookup) == moves(single.lookup)
        assert len(moves(single.lookup)) > 0
        for story in flow.stories:
            assert reopened.events(story.issue_id) == alone.events(story.issue_id)
    finally:
        reopened.close()
        alone.close()
    assert [copy.audit.conflicts for copy in replicas] == [0, 0]
    # Racing copies never made a batch fail: each copy's writes simply found the rows there.
    assert [reader.errors for copy in replicas for reader in copy.readers] == [0, 0, 0, 0]
