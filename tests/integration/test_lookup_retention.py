"""Retention in the lookup view on real databases: the store forgets exactly what the pure
decision says, and the projector applies it on its own, at its clock's time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.records import IssueEventRecord
from harness.stories import BASE_TIME, IssueStory, issue_event
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from projections.issue_event_reading import Record
from projections.lookup import fold_lookup
from projections.lookup_store import LookupStore
from projections.retention import RetentionPolicy, RetentionResult, apply_retention
from projections.runner import LookupProjector
from tests.integration.test_lookup_projector import (
    CAUGHT_UP_TIMEOUT,
    create_topic,
    produce,
    running,
)
from tests.integration.test_replay import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

POLICY = RetentionPolicy()
DAY = timedelta(days=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookupStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/views.db"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = create_database_engine(url)
    lookup = LookupStore(engine)
    lookup.create_schema()
    yield lookup
    engine.dispose()


def ages() -> list[IssueEventRecord]:
    """Issues of every kind retention tells apart, spread over a year."""
    events: list[IssueEventRecord] = []
    for n, age in enumerate((1, 20, 40, 170, 190, 365)):
        start = BASE_TIME + timedelta(days=365 - age)
        for status in ("open", "resolved"):
            story = IssueStory(f"{status}-{age}d", f"C{n % 3}", start=start)
            story.opened()
            if status == "resolved":
                story.resolved()
            events.extend(story.events)
    archived = issue_event(
        issue_id="archived-200d",
        version=3,
        type="IssueArchived",
        status="archived",
        updated_at=BASE_TIME + 165 * DAY,
    )
    return [*events, archived]


def test_the_store_forgets_what_the_pure_decision_says(store: LookupStore) -> None:
    events = ages()
    store.apply_batch("lookup", "issue-events", [Record.of(0, n, e) for n, e in enumerate(events)])
    now = BASE_TIME + 365 * DAY

    result = store.apply_retention(now, POLICY)

    expected = apply_retention(fold_lookup(events), now, POLICY)
    assert store.rows() == expected
    assert sorted(expected) == [
        "open-170d",
        "open-190d",
        "open-1d",
        "open-20d",
        "open-365d",
        "open-40d",
        "resolved-170d",
        "resolved-1d",
        "resolved-20d",
        "resolved-40d",
    ]
    assert result == RetentionResult(issues_deleted=3, alerts_stripped=6)
    assert store.apply_retention(now, POLICY) == RetentionResult()


async def test_the_projector_applies_retention_at_its_interval(
    kafka_bootstrap_servers: str, store: LookupStore
) -> None:
    topic = f"issue-events-{uuid.uuid4().hex[:12]}"
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    events = ages()
    await produce(kafka_bootstrap_servers, topic, events)
    clock = [BASE_TIME]

    def now() -> datetime:
        return clock[0]

    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers),
        topic,
        store,
        retention=POLICY,
        retention_interval=0.05,
        clock=now,
    )
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)
        assert store.count_issues() == len(fold_lookup(events))

        clock[0] = BASE_TIME + 365 * DAY
        expected = apply_retention(fold_lookup(events), clock[0], POLICY)
        await until(lambda: store.rows() == expected, what="retention by the projector")
