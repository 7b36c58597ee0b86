"""The views' query language without a database: label matchers, cursors, what a row keeps
for queries, and how far a batch of events says the fold has got."""

from __future__ import annotations

import pytest

from domain.records import InputPosition
from domain.silences import MatchOperator
from harness.stories import issue_event
from projections.lookup import alert_labels, folded_inputs, issue_row, search_text
from projections.lookup_queries import (
    Cursor,
    Dialect,
    IssueQuery,
    QueryRejected,
    counts_document,
    parse_matchers,
    where_clause,
)


@pytest.mark.parametrize(
    ("text", "name", "operator", "value"),
    [
        ('team="db"', "team", MatchOperator.EQUAL, "db"),
        ('team != "db"', "team", MatchOperator.NOT_EQUAL, "db"),
        ('severity=~"error|panic"', "severity", MatchOperator.REGEX, "error|panic"),
        ('host!~"web-.*"', "host", MatchOperator.NOT_REGEX, "web-.*"),
        ("env=prod", "env", MatchOperator.EQUAL, "prod"),
        ('note="say \\"hi\\""', "note", MatchOperator.EQUAL, 'say "hi"'),
    ],
)
def test_matchers_are_read_in_alertmanager_syntax(
    text: str, name: str, operator: MatchOperator, value: str
) -> None:
    (matcher,) = parse_matchers([text])
    assert (matcher.name, matcher.operator, matcher.value) == (name, operator, value)


def test_several_matchers_in_braces_with_commas_inside_quotes() -> None:
    matchers = parse_matchers(['{team="db,ops", env!="test"}'])
    assert [(m.name, m.value) for m in matchers] == [("team", "db,ops"), ("env", "test")]


@pytest.mark.parametrize("text", ["team", '="db"', 'team=~"("', 'te am="x"'])
def test_a_matcher_that_cannot_be_read_is_rejected_naming_the_filter(text: str) -> None:
    with pytest.raises(QueryRejected, match=r"^filter:"):
        parse_matchers([text])


def test_a_cursor_round_trips_and_belongs_to_its_sort() -> None:
    cursor = Cursor("severity", "desc", 3, "issue-7")
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(QueryRejected, match=r"^cursor:"):
        IssueQuery(sort="updated", cursor=cursor)
    with pytest.raises(QueryRejected, match=r"^offset:"):
        IssueQuery(sort="severity", cursor=cursor, offset=5)
    with pytest.raises(QueryRejected, match=r"^cursor:"):
        Cursor.decode("bm90IGEgY3Vyc29y")


def test_text_search_escapes_like_wildcards() -> None:
    where, params = where_clause(IssueQuery(text="100% disk_full"), Dialect("sqlite"))
    assert where.count("LIKE ? ESCAPE '!'") == 2
    assert params == ["%100!%%", "%disk!_full%"]


def test_placeholders_follow_the_driver() -> None:
    query = IssueQuery(channel_id="C1", statuses=("open", "resolved"))
    assert where_clause(query, Dialect("sqlite"))[0] == (
        "WHERE channel_id = ? AND status IN (?, ?)"
    )
    assert where_clause(query, Dialect("postgresql"))[0] == (
        "WHERE channel_id = %s AND status IN (%s, %s)"
    )


def test_a_row_keeps_labels_words_rank_and_acknowledgement_for_queries() -> None:
    alert = {"header": "Disk", "severity": "warning", "host": "db-1", "fields": [{"x": 1}]}
    alert["metadata"] = {"labels": {"team": "storage", "severity": "critical"}}
    assert alert_labels(alert) == {
        "header": "Disk",
        "severity": "critical",  # the label wins over the field of the same name
        "host": "db-1",
        "team": "storage",
    }
    assert search_text("Disk FULL", "On Ünïcode") == "disk full\non ünïcode"
    row = issue_row(issue_event())
    assert (row["severity_rank"], row["acknowledged"]) == (2, 0)


def test_folded_inputs_come_from_causes_and_marks() -> None:
    first = issue_event(cause=InputPosition(topic="alerts", partition=2, offset=10))
    second = issue_event(version=2, cause=InputPosition(topic="ticks", partition=2, offset=4))
    second = second.model_copy(update={"folded_before": {"alerts": 12, "ticks": 4}})
    assert folded_inputs([first, second]) == {("alerts", 2): 12, ("ticks", 2): 5}


def test_counts_add_up_by_state_severity_and_channel() -> None:
    counts = counts_document(
        [
            ("C1", "error", "open", 0, 2),
            ("C1", "error", "open", 1, 1),
            ("C2", "panic", "resolved", 0, 4),
        ]
    )
    assert (counts["total"], counts["open"], counts["acknowledged"], counts["resolved"]) == (
        7,
        2,
        1,
        4,
    )
    assert counts["by_channel"]["C1"]["total"] == 3
    assert counts["by_severity"]["panic"] == {
        "open": 0,
        "acknowledged": 0,
        "resolved": 4,
        "archived": 0,
        "total": 4,
    }
