"""The views' queries on real SQLite, PostgreSQL and MariaDB: filters, sorts, cursor pages,
counts and how far the view has folded its inputs, the same answers on all three."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from domain.records import InputPosition, IssueEventRecord
from domain.severity import Severity
from harness.stories import BASE_TIME, alert_json, issue_event
from projections.issue_event_reading import Record
from projections.lookup import issue_row, issue_view
from projections.lookup_queries import Cursor, IssueQuery, parse_matchers
from projections.lookup_reader import LookupReader
from projections.lookup_store import LookupStore
from tests.support.lookup_stores import EACH_DATABASE, lookup_store_on

pytestmark = pytest.mark.integration

TOPIC = "issue-events"


@pytest.fixture(params=EACH_DATABASE)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LookupStore]:
    yield from lookup_store_on(request, tmp_path)


def event(
    issue_id: str,
    channel_id: str,
    *,
    minutes: int,
    labels: dict[str, str] | None = None,
    acknowledged: bool = False,
    version: int = 1,
    **fields: Any,
) -> IssueEventRecord:
    updated = BASE_TIME + timedelta(minutes=minutes)
    alert = alert_json(
        channel_id=channel_id,
        correlation_id=f"corr-{issue_id}",
        header=fields.get("header", "Disk almost full"),
        text=fields.get("text", "/var is 91% full"),
        severity=fields.get("severity", Severity.ERROR),
        timestamp=updated,
    )
    if labels is not None:
        alert["metadata"] = {"labels": labels}
    made = issue_event(
        issue_id=issue_id,
        channel_id=channel_id,
        correlation_id=f"corr-{issue_id}",
        version=version,
        opened_at=BASE_TIME + timedelta(minutes=minutes - version + 1),
        updated_at=updated,
        last_alert=alert,
        event_id=f"{issue_id}:{version}",
        **fields,
    )
    if acknowledged:
        issue = made.issue.model_copy(update={"acknowledged_by": {"kind": "user", "id": "U1"}})
        made = made.model_copy(update={"issue": issue})
    return made


ISSUES = [
    event("a", "C1", minutes=1, header="Database down", alert_count=3, labels={"team": "db"}),
    event(
        "b",
        "C1",
        minutes=2,
        header="Disk full on db-2",
        status="resolved",
        severity=Severity.WARNING,
        labels={"team": "storage"},
    ),
    event(
        "c",
        "C2",
        minutes=3,
        header="API latency",
        severity=Severity.PANIC,
        alert_count=7,
        acknowledged=True,
        labels={"team": "db", "env": "prod"},
    ),
    event(
        "d", "C2", minutes=4, header="Nightly job done", status="archived", severity=Severity.INFO
    ),
]


@pytest.fixture
def reader(store: LookupStore) -> LookupReader:
    store.apply_batch("lookup", TOPIC, [Record.of(0, n, e) for n, e in enumerate(ISSUES)])
    return LookupReader(store.engine)


def ids(reader: LookupReader, **query: Any) -> list[str]:
    page = json.loads(reader.page(IssueQuery(**query)))
    return [issue["id"] for issue in page["issues"]]


def test_a_page_is_every_issue_as_the_view_serves_it(reader: LookupReader) -> None:
    page = json.loads(reader.page(IssueQuery()))
    assert page["issues"] == [issue_view(issue_row(e)) for e in reversed(ISSUES)]
    assert (page["count"], page["limit"], page["offset"], page["next_cursor"]) == (4, 100, 0, None)
    assert json.loads(reader.issue("c") or b"") == issue_view(issue_row(ISSUES[2]))
    assert reader.issue("nope") is None


def test_an_issue_is_found_by_its_correlation_id_alone_through_an_index(
    store: LookupStore, reader: LookupReader
) -> None:
    """Without a channel the view is searched by an index, not read issue by issue (with
    10,000 issues that read took 8 ms of SQLite per request)."""
    assert ids(reader, correlation_id="corr-c") == ["c"]
    table = f"issues_g{store.live_generation()}"
    indexes = sa.inspect(store.engine).get_indexes(table)
    assert ["correlation_id"] in [index["column_names"] for index in indexes]


def test_several_statuses_and_severities(reader: LookupReader) -> None:
    assert ids(reader, statuses=("open", "archived")) == ["d", "c", "a"]
    assert ids(reader, severities=("panic", "warning")) == ["c", "b"]
    assert ids(reader, channel_id="C1", statuses=("open",)) == ["a"]


def test_text_search_finds_every_word_in_header_or_text_whatever_the_case(
    reader: LookupReader,
) -> None:
    assert ids(reader, text="DATABASE") == ["a"]
    assert ids(reader, text="db") == ["b"]
    assert ids(reader, text="full /VAR") == ["d", "c", "b", "a"]
    assert ids(reader, text="100%") == []
    assert ids(reader, text="disk_full") == []


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        (['team="db"'], ["c", "a"]),
        (['team=~"d.*"'], ["c", "a"]),
        (['team=~"d"'], []),  # anchored
        (['team!="db"'], ["d", "b"]),  # an absent label reads as empty
        (['team!~"db|storage"'], ["d"]),
        (['env=""'], ["d", "b", "a"]),
        (['team="db"', 'env="prod"'], ["c"]),
        (['{team="db",env!="prod"}'], ["a"]),
        (['severity=~"error|panic"'], ["c", "a"]),  # the alert's own field, without a label
    ],
)
def test_label_matchers_in_alertmanager_syntax(
    reader: LookupReader, matchers: list[str], expected: list[str]
) -> None:
    assert ids(reader, matchers=parse_matchers(matchers)) == expected


def test_since_and_until_bound_the_last_change(reader: LookupReader) -> None:
    since = BASE_TIME + timedelta(minutes=2)
    until = BASE_TIME + timedelta(minutes=4)
    assert ids(reader, since=since) == ["d", "c", "b"]
    assert ids(reader, since=since, until=until) == ["c", "b"]


def test_sorts(reader: LookupReader) -> None:
    assert ids(reader, sort="severity") == ["c", "a", "b", "d"]
    assert ids(reader, sort="alert_count", order="asc")[-2:] == ["a", "c"]
    assert ids(reader, sort="opened", order="asc") == ["a", "b", "c", "d"]
    assert ids(reader, sort="updated", order="asc") == ["a", "b", "c", "d"]


def pages(reader: LookupReader, query: IssueQuery) -> Iterator[list[str]]:
    while True:
        page = json.loads(reader.page(query))
        yield [issue["id"] for issue in page["issues"]]
        if page["next_cursor"] is None:
            return
        query = IssueQuery(
            sort=query.sort, order=query.order, limit=query.limit, cursor=_cursor(page)
        )


def _cursor(page: dict[str, Any]) -> Cursor:
    return Cursor.decode(page["next_cursor"])


@pytest.mark.parametrize("sort", ["updated", "opened", "severity", "alert_count"])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_cursor_pages_list_every_issue_once_in_order(
    reader: LookupReader, sort: str, order: str
) -> None:
    whole = ids(reader, sort=sort, order=order)
    paged = [i for page in pages(reader, IssueQuery(sort=sort, order=order, limit=1)) for i in page]
    assert paged == whole


def test_cursor_pages_stay_correct_while_issues_change(
    store: LookupStore, reader: LookupReader
) -> None:
    walk = pages(reader, IssueQuery(limit=2))
    assert next(walk) == ["d", "c"]
    # Served issue d changes, and a new issue arrives: neither repeats nor hides what is left.
    store.apply_batch(
        "lookup",
        TOPIC,
        [
            Record.of(0, 10, event("d", "C2", minutes=9, version=2, status="archived")),
            Record.of(0, 11, event("e", "C3", minutes=8)),
        ],
    )
    assert next(walk) == ["b", "a"]
    assert next(walk, None) is None


def test_counts_by_state_severity_and_channel(reader: LookupReader) -> None:
    counts = json.loads(reader.counts(IssueQuery()))
    assert {k: counts[k] for k in ("total", "open", "acknowledged", "resolved", "archived")} == {
        "total": 4,
        "open": 1,
        "acknowledged": 1,
        "resolved": 1,
        "archived": 1,
    }
    assert counts["by_channel"]["C2"] == {
        "open": 0,
        "acknowledged": 1,
        "resolved": 0,
        "archived": 1,
        "total": 2,
    }
    assert counts["by_severity"]["error"]["open"] == 1
    filtered = json.loads(reader.counts(IssueQuery(matchers=parse_matchers(['team="db"']))))
    assert (filtered["total"], sorted(filtered["by_channel"])) == (2, ["C1", "C2"])


def test_counts_follow_the_view_as_it_changes(store: LookupStore, reader: LookupReader) -> None:
    assert json.loads(reader.counts(IssueQuery(channel_id="C3")))["total"] == 0
    store.apply_batch("lookup", TOPIC, [Record.of(1, 0, event("e", "C3", minutes=8))])
    assert json.loads(reader.counts(IssueQuery(channel_id="C3")))["total"] == 1


def test_the_view_knows_how_far_it_has_folded_each_input(store: LookupStore) -> None:
    alert = ISSUES[0].model_copy(
        update={
            "cause": InputPosition(topic="alerts", partition=3, offset=1207),
            "folded_before": {"alerts": 1207, "ticks": 40},
        }
    )
    tick = ISSUES[1].model_copy(
        update={
            "cause": InputPosition(topic="ticks", partition=5, offset=12),
            "folded_before": {"alerts": 88, "ticks": 12},
        }
    )
    store.apply_batch("lookup", TOPIC, [Record.of(3, 0, alert), Record.of(5, 0, tick)])
    reader = LookupReader(store.engine)
    assert reader.folded("alerts") == {3: 1208, 5: 88}
    assert reader.folded("ticks") == {3: 40, 5: 13}


def test_a_reader_follows_a_replay_that_dropped_the_tables_it_read(
    store: LookupStore, reader: LookupReader
) -> None:
    assert ids(reader, channel_id="C1") == ["b", "a"]
    generation, _stale = store.begin_generation()
    store.apply_batch("lookup", TOPIC, [Record.of(0, 0, ISSUES[0])], generation=generation)
    store.drop_generation(store.switch_to(generation))
    assert ids(reader, channel_id="C1") == ["a"]
