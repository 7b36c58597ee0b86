"""`alertfold replay` reading the log in several processes, each a share of the partitions,
on a real broker and a real database: what they build equals what one reader builds, row for
row and event for event; a process that fails fails the replay and leaves nothing behind."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.composition import Alertfold, create_app
from harness.stories import BASE_TIME
from infra.kafka_admin import ensure_topics
from infra.kafka_clients import KafkaConnection
from infra.settings import load_settings
from infra.topology import topic_specs
from projections.lookup_replay import LookupReplayTarget
from projections.replay import Replay
from projections.retention import RetentionPolicy
from tests.integration.test_lookup_projector import all_events, history, produce
from tests.support.replay_parts import PartsWithoutDatabase

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SOON = BASE_TIME + timedelta(days=1)


async def product_with_history(bootstrap: str, tmp_path: Path, issues: int) -> Alertfold:
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/alertfold.db",
            "ALERTFOLD_TOPIC_PREFIX": f"r{uuid.uuid4().hex[:8]}.",
            "ALERTFOLD_PARTITIONS": "3",
        }
    )
    alertfold = create_app(settings, bootstrap_servers=bootstrap, clock=lambda: SOON)
    await ensure_topics(KafkaConnection(bootstrap), topic_specs(settings))
    await produce(bootstrap, settings.issue_events_topic, all_events(history(issues, channels=7)))
    return alertfold


def built(alertfold: Alertfold) -> dict[str, Any]:
    """Everything a replay builds: the view's rows and positions, the audit's events."""
    lookup = alertfold.lookup_store()
    audit = alertfold.audit_generations().live_store()
    rows = lookup.rows()
    topic = alertfold.settings.issue_events_topic
    return {
        "rows": rows,
        "lookup positions": lookup.positions("lookup", topic),
        "audit events": {i: [e.model_dump() for e in audit.events(i)] for i in rows},
        "audit positions": audit.positions("audit", topic, range(3)),
    }


async def test_a_replay_read_by_two_processes_builds_what_one_reader_builds(
    kafka_bootstrap_servers: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "projections.replay")
    alertfold = await product_with_history(kafka_bootstrap_servers, tmp_path, issues=60)

    in_one = await alertfold.replay(processes=1).run()
    by_one = built(alertfold)
    in_two = await alertfold.replay(processes=2).run()

    assert "from 3 partitions in 2 process(es)" in caplog.text
    assert built(alertfold) == by_one
    assert len(by_one["rows"]) == 60
    assert by_one["lookup positions"] == by_one["audit positions"] != {}
    assert in_two.events == in_one.events > 60
    assert [m.generation for m in in_two.models] == [3, 3]


async def test_a_replay_whose_process_fails_says_so_and_keeps_the_live_generations(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    alertfold = await product_with_history(kafka_bootstrap_servers, tmp_path, issues=10)
    topic = alertfold.settings.issue_events_topic
    store = alertfold.lookup_store()
    replay = Replay(
        alertfold.kafka,
        topic,
        [LookupReplayTarget(store, topic, RetentionPolicy())],
        clock=lambda: SOON,
        parts=PartsWithoutDatabase(kafka_bootstrap_servers),
        processes=2,
    )

    with pytest.raises(RuntimeError, match=r"partitions \[\d(, \d)*\] stopped: .*out of reach"):
        await replay.run()

    assert store.live_generation() == 1
    assert store.generations_present() == {1}
