"""`alertfold replay` rebuilds the audit store too: a new generation beside the live one, the
same history in it, a switch the live auditor and readers follow, nothing left behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.stories import BASE_TIME
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from projections.audit_generations import AuditGenerations, AuditReplayTarget
from projections.audit_runner import Auditor
from projections.replay import Replay
from tests.integration.test_auditor import consumed, running, until
from tests.integration.test_lookup_projector import all_events, create_topic, history, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(registry database, audit database), as the product configures them."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/alertfold.db", f"sqlite:///{tmp_path}/audit.db"
    else:
        url = request.getfixturevalue(f"fresh_{request.param}_url")
        yield url, url


async def test_replay_rebuilds_the_audit_store_and_the_live_auditor_follows(
    kafka_bootstrap_servers: str, urls: tuple[str, str], tmp_path: Path
) -> None:
    topic = f"issue-events-{uuid.uuid4().hex[:12]}"
    registry_url, audit_url = urls
    generations = AuditGenerations(create_database_engine(registry_url), audit_url)
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    first = all_events(history(10))
    await produce(kafka_bootstrap_servers, topic, first)

    reader = generations.live_store()
    auditor = Auditor(KafkaConnection(kafka_bootstrap_servers), topic, generations.live_store())
    async with running(auditor):
        await until(consumed(auditor, len(first)), "the live auditor to record the history")
        some_issue = first[0].issue_id
        before = [e.as_json() for e in reader.history(some_issue)]

        target = AuditReplayTarget(generations, audit_url, topic)
        summary = await Replay(
            KafkaConnection(kafka_bootstrap_servers), topic, [target], clock=lambda: BASE_TIME
        ).run()
        assert generations.live() == 2
        assert summary.models[0].counts == {"audited events": len(first)}

        # What comes after the switch reaches the new generation through the live auditor.
        later = all_events(history(3))
        await produce(kafka_bootstrap_servers, topic, later)
        await until(
            lambda: (
                auditor.store.generation == 2
                and auditor.store.count_events() == len(first) + len(later)
            ),
            "the live auditor to follow the switch",
            timeout=60,
        )

    assert [e.as_json() for e in reader.history(some_issue)] == before
    assert reader.generation == 2
    tables = set(sa.inspect(create_database_engine(audit_url)).get_table_names())
    assert {"audit_events_g2", "audit_positions_g2"} <= tables
    assert not {"audit_events_g1", "audit_positions_g1"} & tables
