"""`alertfold replay` on a real broker and real databases: a new generation of the lookup view
is built from offset 0 beside the live one, equals it row for row, and replaces it atomically;
the live projector follows the switch; an interrupted replay leaves no trace."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.stories import BASE_TIME, IssueStory
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from infra.local_kafka import free_port
from projections.issue_event_reading import Record
from projections.lookup import fold_lookup, issue_view
from projections.lookup_replay import LookupReplayTarget
from projections.lookup_store import LookupStore
from projections.replay import Replay, ReplayInterrupted, ReplayProgress
from projections.retention import RetentionPolicy, apply_retention
from projections.runner import LookupProjector
from tests.integration.test_lookup_projector import (
    CAUGHT_UP_TIMEOUT,
    all_events,
    create_topic,
    history,
    produce,
    running,
)
from tests.support.lookup_stores import EACH_DATABASE, lookup_store_on
from tests.support.product import Product

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

POLICY = RetentionPolicy()
# The events of `history` happen on BASE_TIME; a day later nothing has expired yet.
SOON = BASE_TIME + timedelta(days=1)


@pytest.fixture
def topic() -> str:
    return f"issue-events-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=EACH_DATABASE)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookupStore]:
    yield from lookup_store_on(request, tmp_path)


def replay_into(
    store: LookupStore, bootstrap: str, topic: str, *, now: Any = SOON, **options: Any
) -> Replay:
    target = LookupReplayTarget(store, topic, POLICY)
    options.setdefault("max_records", 50)  # several batches, even for a small log
    return Replay(KafkaConnection(bootstrap), topic, [target], clock=lambda: now, **options)


async def project_live(store: LookupStore, bootstrap: str, topic: str) -> None:
    projector = LookupProjector(KafkaConnection(bootstrap), topic, store)
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)


async def test_replay_into_fresh_tables_equals_the_live_view(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=3)
    events = all_events(history(40))
    await produce(kafka_bootstrap_servers, topic, events)
    await project_live(store, kafka_bootstrap_servers, topic)
    live_rows, live_positions = store.rows(), store.positions("lookup", topic)

    summary = await replay_into(store, kafka_bootstrap_servers, topic).run()

    assert store.live_generation() == 2
    assert store.rows() == live_rows
    assert store.positions("lookup", topic) == live_positions
    assert store.generations_present() == {2}
    assert summary.events == len(events)
    assert summary.models[0].counts == {"issues": 40}
    assert summary.models[0].replaced == 1


async def test_a_replay_does_not_resurrect_what_retention_removed(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    events = all_events(history(30))
    await produce(kafka_bootstrap_servers, topic, events)
    await project_live(store, kafka_bootstrap_servers, topic)
    later = BASE_TIME + timedelta(days=200)
    store.apply_retention(later, POLICY)
    live_rows = store.rows()

    summary = await replay_into(store, kafka_bootstrap_servers, topic, now=later).run()

    assert store.rows() == live_rows == apply_retention(fold_lookup(events), later, POLICY)
    assert summary.models[0].retention.issues_deleted == 30 - len(live_rows) > 0
    assert summary.models[0].retention.alerts_stripped == len(live_rows)


async def test_the_live_projector_follows_a_switch_without_loss(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=3)
    first = all_events(history(20))
    await produce(kafka_bootstrap_servers, topic, first)
    projector = LookupProjector(
        KafkaConnection(kafka_bootstrap_servers), topic, store, max_records=50
    )
    async with running(projector):
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)
        assert projector.generation == 1

        await replay_into(store, kafka_bootstrap_servers, topic).run()
        after = all_events(history(15))
        await produce(kafka_bootstrap_servers, topic, after)
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

        # It moved to generation 2 at its stored positions: exactly the new events were
        # applied, none twice and none lost.
        assert projector.generation == 2
        assert projector.applied == len(first) + len(after)
        assert_view_is_the_fold(store, first + after)

        # Events arriving while a replay runs end up in the view too, by either writer.
        replay = asyncio.create_task(replay_into(store, kafka_bootstrap_servers, topic).run())
        during = all_events(history(15))
        await produce(kafka_bootstrap_servers, topic, during)
        await replay
        # Idle after the switch, it notices the new generation by itself.
        await until(lambda: projector.generation == 3, what="the projector on generation 3")
        await projector.wait_until_caught_up(CAUGHT_UP_TIMEOUT)

    assert store.live_generation() == projector.generation == 3
    assert_view_is_the_fold(store, first + after + during)
    assert sum(store.positions("lookup", topic).values()) == len(first + after + during)


async def test_an_interrupted_replay_leaves_the_live_generation_untouched(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    events = all_events(history(30))
    await produce(kafka_bootstrap_servers, topic, events)
    await project_live(store, kafka_bootstrap_servers, topic)
    live_rows = store.rows()
    seen: list[tuple[int | None, set[int]]] = []
    replay = replay_into(store, kafka_bootstrap_servers, topic)

    def interrupt_once_building(progress: ReplayProgress) -> None:
        if progress.done > 0:
            seen.append((store.building_generation(), store.generations_present()))
            replay.interrupted.set()  # what Ctrl-C does

    replay.on_progress = interrupt_once_building
    with pytest.raises(ReplayInterrupted):
        await replay.run()

    assert seen == [(2, {1, 2})]
    assert store.live_generation() == 1
    assert store.building_generation() is None
    assert store.generations_present() == {1}
    assert store.rows() == live_rows
    # The next replay starts afresh.
    await replay_into(store, kafka_bootstrap_servers, topic).run()
    assert store.rows() == live_rows


async def test_a_killed_replays_tables_are_dropped_by_the_next_one(
    kafka_bootstrap_servers: str, topic: str, store: LookupStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=1)
    events = all_events(history(5))
    await produce(kafka_bootstrap_servers, topic, events)
    await project_live(store, kafka_bootstrap_servers, topic)
    killed, _stale = store.begin_generation()  # a replay that never got to clean up
    assert killed == 2

    summary = await replay_into(store, kafka_bootstrap_servers, topic).run()

    assert summary.models[0].generation == store.live_generation() == 3
    assert store.generations_present() == {3}
    assert_view_is_the_fold(store, events)


async def test_the_api_answers_from_the_old_generation_during_a_replay(
    kafka_bootstrap_servers: str, topic: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/views.db"
    store = LookupStore(create_database_engine(database))
    store.create_schema()
    await create_topic(kafka_bootstrap_servers, topic, partitions=2)
    events = all_events(history(20))
    await produce(kafka_bootstrap_servers, topic, events)
    await project_live(store, kafka_bootstrap_servers, topic)
    # A row only the live generation has: the log never held it, so no replay rebuilds it.
    only_live = IssueStory("only-in-live")
    store.apply_batch("elsewhere", "elsewhere", [Record.of(0, 0, only_live.opened())])
    api = api_process(kafka_bootstrap_servers, database, tmp_path)
    answers: list[tuple[int | None, int, int]] = []
    replay = replay_into(store, kafka_bootstrap_servers, topic)

    def ask_the_api(progress: ReplayProgress) -> None:
        if progress.done > 0:
            marker = api.get("/issues/only-in-live").status_code
            answers.append((store.building_generation(), marker, len(api.issues(limit=1000))))

    replay.on_progress = ask_the_api
    try:
        await replay.run()
        assert answers and all(answer == (2, 200, 21) for answer in answers)
        assert api.get("/issues/only-in-live").status_code == 404
        assert len(api.issues(limit=1000)) == 20
    finally:
        api.stop("api")


def api_process(bootstrap: str, database_url: str, workdir: Path) -> Product:
    import os

    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ALERTFOLD_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
        "ALERTFOLD_DATA_DIR": str(workdir / "data"),
        "ALERTFOLD_API_PORT": str(free_port()),
        "ALERTFOLD_PARTITIONS": "2",
        "DATABASE_URL": database_url,
    }
    product = Product(env=env, workdir=workdir)
    product.start("api")
    return product


async def until(condition: Callable[[], bool], *, what: str, timeout: float = 30) -> None:
    """Wait for a condition without blocking the event loop the projector runs on."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


def assert_view_is_the_fold(store: LookupStore, events: list[Any]) -> None:
    expected = {issue_id: issue_view(row) for issue_id, row in fold_lookup(events).items()}
    assert {issue["id"]: issue for issue in store.list_issues(limit=100_000)} == expected
