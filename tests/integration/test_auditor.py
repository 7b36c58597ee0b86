"""The auditor against a real Kafka broker, into a real SQLite audit store."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from domain.records import IssueEventRecord
from infra.kafka_clients import KafkaConnection
from projections.audit_runner import Auditor
from projections.audit_store import AuditStore
from tests.integration.test_lookup_projector import all_events, create_topic, history, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def topic() -> str:
    return f"issue-events-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    audit = AuditStore.open(f"sqlite:///{tmp_path}/audit.db")
    yield audit
    audit.close()


@contextlib.asynccontextmanager
async def running(auditor: Auditor) -> AsyncIterator[None]:
    task = asyncio.create_task(auditor.run())
    try:
        yield
    finally:
        await asyncio.wait_for(auditor.stop(), timeout=15)
        await task


async def until(probe: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait on the event loop (the auditor runs on it) until `probe()` holds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def consumed(auditor: Auditor, records: int) -> Callable[[], bool]:
    """On a fresh topic, next offsets add up to the number of records read."""
    return lambda: sum(auditor.applied_offsets.values()) >= records


def assert_histories(store: AuditStore, events: list[IssueEventRecord]) -> None:
    by_issue: dict[str, list[IssueEventRecord]] = {}
    for event in events:
        by_issue.setdefault(event.issue_id, []).append(event)
    for issue_id, expected in by_issue.items():
        assert [h.event_id for h in store.history(issue_id)] == [e.event_id for e in expected]
        last = expected[-1]
        assert store.at_version(issue_id, last.version).snapshot == last.issue


async def test_records_issue_events_from_kafka_and_resumes_after_restart(
    kafka_bootstrap_servers: str, topic: str, store: AuditStore
) -> None:
    await create_topic(kafka_bootstrap_servers, topic, partitions=3)
    stories = history(12, channels=4)
    first = all_events(stories)
    await produce(kafka_bootstrap_servers, topic, first)
    await produce(kafka_bootstrap_servers, topic, [b"not json"], partition=1)

    auditor = Auditor(KafkaConnection(kafka_bootstrap_servers), topic, store, retry_backoff=0.05)
    async with running(auditor):
        await until(consumed(auditor, len(first) + 1), "the first events")
    assert (auditor.applied, auditor.skipped) == (len(first), 1)
    assert_histories(store, first)

    # After a crash the log holds duplicates; new decisions follow them.
    for story in stories[:4]:
        story.grouped("after the restart")
    more = [story.events[-1] for story in stories[:4]]
    await produce(kafka_bootstrap_servers, topic, first[:5] + more)
    total = len(first) + 1 + 5 + len(more)

    restarted = Auditor(KafkaConnection(kafka_bootstrap_servers), topic, store, retry_backoff=0.05)
    async with running(restarted):
        await until(consumed(restarted, total), "the events after the restart")
    # Only what came after the stored positions was read again.
    assert restarted.applied == 5 + len(more)
    assert_histories(store, all_events(stories))
    assert store.positions("audit", topic, range(3)) == restarted.applied_offsets
