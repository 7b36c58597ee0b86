"""The issues page over a real SQLite view of 10,000 open issues: fast, filtered, paged.

No broker is needed: the lookup view is written directly, as the projector would.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.routing import RouteTable
from domain.severity import Severity
from gateways.alert_publisher import AlertPublisher
from gateways.api.app import create_api
from gateways.api.dependencies import ApiDependencies
from gateways.web.issue_source import IssueFilter, LookupIssueSource
from harness.stories import alert_json, issue_event
from infra.database import create_database_engine
from projections.issue_event_reading import Record
from projections.lookup_store import LookupStore
from tests.unit.test_api_access import _reachable

OPEN_ISSUES = 10_000
SEVERITIES = (Severity.PANIC, Severity.ERROR, Severity.WARNING, Severity.INFO)
START = datetime(2024, 5, 1, tzinfo=UTC)


def event(n: int, **fields: Any) -> Any:
    severity = SEVERITIES[n % 4]
    updated_at = START + timedelta(seconds=n)
    alert = alert_json(
        channel_id=f"C{n % 7}",
        correlation_id=f"disk-{n}",
        header=f"Disk {n} full",
        text="/var is 91% full",
        severity=severity,
        timestamp=updated_at,
    ) | {"metadata": {"labels": {"team": "storage" if n % 10 == 0 else "web"}}}
    return issue_event(
        issue_id=f"i{n}",
        correlation_id=f"disk-{n}",
        channel_id=f"C{n % 7}",
        severity=severity,
        header=f"Disk {n} full",
        updated_at=updated_at,
        last_alert=alert,
        **fields,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> LookupStore:
    path: Path = tmp_path_factory.mktemp("web") / "lookup.db"
    store = LookupStore(create_database_engine(f"sqlite:///{path}"))
    store.create_schema()
    store.apply_batch(
        "lookup", "issue-events", [Record.of(0, n, event(n)) for n in range(OPEN_ISSUES)]
    )
    closed = [event(OPEN_ISSUES + n, status="resolved", version=2) for n in range(100)]
    store.apply_batch("lookup", "issue-events", [Record.of(0, n, e) for n, e in enumerate(closed)])
    return store


@pytest.fixture(scope="module")
def client(store: LookupStore) -> Iterator[TestClient]:
    deps = ApiDependencies(
        publisher=AlertPublisher("127.0.0.1:9", "alerts"),
        store=store,
        routes=RouteTable([]),
        clock=lambda: datetime.now(UTC),
        broker_check=_reachable,
        database_check=lambda: (True, ""),
        max_body_bytes=4096,
    )
    with TestClient(create_api(deps)) as client:
        yield client


def test_the_first_screen_of_ten_thousand_open_issues_answers_within_300_ms(
    client: TestClient,
) -> None:
    client.get("/ui/")  # templates compiled, connections made
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        page = client.get("/ui/")
        timings.append(time.perf_counter() - started)
        assert page.status_code == 200
    assert statistics.median(timings) < 0.3, timings
    assert page.text.count('data-issue="') == 50
    assert f'aria-label="{OPEN_ISSUES} open issues"' in page.text


def test_the_newest_change_comes_first_and_pages_follow_without_overlap(
    store: LookupStore,
) -> None:
    source = LookupIssueSource(store)
    first = source.page(IssueFilter(), None, 50)
    second = source.page(IssueFilter(), first.next_cursor, 50)
    ids = [i["id"] for i in first.issues + second.issues]
    assert ids == [f"i{n}" for n in range(OPEN_ISSUES - 1, OPEN_ISSUES - 101, -1)]


def test_any_status_shows_the_open_issues_before_the_closed_ones(store: LookupStore) -> None:
    source = LookupIssueSource(store)
    page = source.page(IssueFilter(status=""), None, 10)
    assert all(issue["status"] == "open" for issue in page.issues)
    resolved = source.page(IssueFilter(status="resolved"), None, 500)
    assert len(resolved.issues) == 100 and resolved.next_cursor is None


def test_filters_combine_channel_severity_text_and_labels(store: LookupStore) -> None:
    source = LookupIssueSource(store)
    wanted = IssueFilter(channel_id="C0", severity="panic")
    assert {(i["channel_id"], i["severity"]) for i in source.page(wanted, None, 50).issues} == {
        ("C0", "panic")
    }
    assert [i["id"] for i in source.page(IssueFilter(text="disk 4242 FULL"), None, 5).issues] == [
        "i4242"
    ]


def test_label_matchers_from_the_url_select_by_the_latest_alert(client: TestClient) -> None:
    page = client.get("/ui/", params={"labels": 'team="storage"', "severity": "panic"})
    shown = page.text.count('data-issue="')
    assert shown == 50
    assert "Disk 9980 full" in page.text and "Disk 9981 full" not in page.text
    refused = client.get("/ui/", params={"labels": "team"})
    assert "labels: cannot read" in refused.text


def test_counts_and_the_banner_of_unacknowledged_panics_and_errors(store: LookupStore) -> None:
    source = LookupIssueSource(store)
    counts = source.counts()
    assert counts.open == OPEN_ISSUES and counts.by_status["resolved"] == 100
    assert counts.open_by_severity == {s.value: OPEN_ISSUES // 4 for s in SEVERITIES}
    alarming, newest = source.alarming(3)
    assert alarming == OPEN_ISSUES // 2
    assert [i["id"] for i in newest] == ["i9997", "i9996", "i9993"]
