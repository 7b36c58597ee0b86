"""`GET /issues/{id}/history` and `GET /issues/{id}?at=…`, on real SQLite stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from domain.routing import RouteTable
from domain.severity import Severity
from gateways.alert_publisher import AlertPublisher
from gateways.api.app import create_api
from gateways.api.dependencies import ApiDependencies
from harness.stories import IssueStory
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from projections.audit_store import AuditStore
from projections.issue_event_reading import Record
from projections.lookup_store import LookupStore

ISSUE = "5c1d7e0a-0000-4000-8000-0000000a0001"


async def _reachable() -> tuple[bool, str]:
    return True, "ok"


def api(tmp_path: Path, audit: AuditStore | None) -> httpx.AsyncClient:
    lookup = LookupStore(create_database_engine(f"sqlite:///{tmp_path}/alertfold.db"))
    lookup.create_schema()
    story = IssueStory(issue_id=ISSUE, channel_id="C0DB", header="Database down")
    story.opened("primary does not answer")
    story.grouped("still down")
    story.severity_changed(Severity.PANIC)
    story.resolved()
    records = [Record.of(0, n, event) for n, event in enumerate(story.events)]
    lookup.apply_batch("lookup", "issue-events", records)
    if audit is not None:
        audit.apply_batch("audit", "issue-events", records)
    deps = ApiDependencies(
        publisher=AlertPublisher(KafkaConnection("127.0.0.1:9"), "alerts"),
        store=lookup,
        audit=audit,
        routes=RouteTable([]),
        clock=lambda: datetime.now(UTC),
        broker_check=_reachable,
        database_check=lambda: (True, "ok"),
        max_body_bytes=1_048_576,
    )
    transport = httpx.ASGITransport(app=create_api(deps))
    return httpx.AsyncClient(transport=transport, base_url="http://alertfold")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    audit = AuditStore.open(f"sqlite:///{tmp_path}/audit.db")
    try:
        async with api(tmp_path, audit) as test_client:
            yield test_client
    finally:
        audit.close()


async def test_history_lists_every_event_oldest_first(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/issues/{ISSUE}/history")
    assert response.status_code == 200
    history = response.json()
    assert [(e["version"], e["type"]) for e in history] == [
        (1, "IssueOpened"),
        (2, "AlertGrouped"),
        (3, "SeverityChanged"),
        (4, "IssueResolved"),
    ]
    assert history[2] == {
        "version": 3,
        "type": "SeverityChanged",
        "event_id": f"{ISSUE}:3",
        "occurred_at": "2024-05-01T12:02:00Z",
        "summary": "severity → panic",
        "who": "—",
        "source": "alerts[0]@2",
        "status": "open",
        "severity": "panic",
    }


async def test_the_issue_at_a_time_has_the_live_views_shape(client: httpx.AsyncClient) -> None:
    live = (await client.get(f"/issues/{ISSUE}")).json()
    then = await client.get(f"/issues/{ISSUE}", params={"at": "2024-05-01T12:01:30Z"})
    assert then.status_code == 200
    assert set(then.json()) == set(live)
    assert (then.json()["version"], then.json()["status"], then.json()["alert_count"]) == (
        2,
        "open",
        2,
    )
    assert live["status"] == "resolved"
    latest = (await client.get(f"/issues/{ISSUE}", params={"at": "2030-01-01T00:00:00Z"})).json()
    assert latest == live


async def test_unknown_issues_and_times_before_opening_are_404(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get("/issues/nope/history")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no issue with id nope in the audit store"}
    before = await client.get("/issues/nope", params={"at": "2024-05-01T12:00:00Z"})
    assert before.status_code == 404
    early = await client.get(f"/issues/{ISSUE}", params={"at": "2024-05-01T11:59:59Z"})
    assert early.status_code == 404
    assert "did not exist yet at 2024-05-01T11:59:59Z" in early.json()["error"]


async def test_a_bad_time_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/issues/{ISSUE}", params={"at": "noon"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("at: 'noon' is not a time")


async def test_without_an_audit_store_history_is_503(tmp_path: Path) -> None:
    async with api(tmp_path, None) as client:
        assert (await client.get(f"/issues/{ISSUE}/history")).status_code == 503
        at = await client.get(f"/issues/{ISSUE}", params={"at": "2024-05-01"})
        assert at.status_code == 503
        assert (await client.get(f"/issues/{ISSUE}")).status_code == 200
