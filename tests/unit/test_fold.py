"""The fold's grouping rules, on inputs alone: no Kafka, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.alert import Alert
from domain.fold import AlertReceived, Folded, FoldOutcome, fold_alert
from domain.issue_state import IssueState
from domain.records import InputPosition

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def received(offset: int, seconds: int = 0, **fields: Any) -> AlertReceived:
    body: dict[str, Any] = {
        "slackChannelId": "C123",
        "correlationId": "db-down",
        "header": "Database down",
        "text": "primary does not answer",
        "severity": "error",
        "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
        **fields,
    }
    return AlertReceived(
        alert=Alert.from_json_obj(body),
        position=InputPosition(topic="alerts", partition=3, offset=offset),
        received_at=T0 + timedelta(seconds=seconds),
    )


def fold_all(*inputs: AlertReceived, state: IssueState | None = None) -> list[Folded]:
    results = []
    for item in inputs:
        folded = fold_alert(state, item)
        state = folded.state
        results.append(folded)
    return results


def test_first_alert_opens_an_issue_with_one_alert() -> None:
    folded = fold_alert(None, received(0))
    assert folded.outcome is FoldOutcome.OPENED
    assert [e.type for e in folded.events] == ["IssueOpened"]
    assert folded.state is not None
    assert folded.state.status == "open"
    assert folded.state.alert_count == 1
    assert folded.events[0].issue.header == "Database down"


def test_second_alert_with_same_correlation_id_joins_open_issue() -> None:
    first, second = fold_all(received(0), received(1, seconds=10))
    assert second.outcome is FoldOutcome.GROUPED
    assert [e.type for e in second.events] == ["AlertGrouped"]
    assert second.events[0].issue_id == first.events[0].issue_id
    assert second.state is not None and second.state.alert_count == 2
    assert second.events[0].version == 2


def test_resolved_alert_resolves_the_open_issue_at_its_time() -> None:
    *_, last = fold_all(received(0), received(1, seconds=60, severity="resolved"))
    assert last.outcome is FoldOutcome.RESOLVED
    assert [e.type for e in last.events] == ["IssueResolved"]
    assert last.state is not None
    assert last.state.status == "resolved"
    assert last.state.resolved_at == T0 + timedelta(seconds=60)


def test_resolved_alert_without_an_issue_is_dropped() -> None:
    folded = fold_alert(None, received(0, severity="resolved"))
    assert folded.outcome is FoldOutcome.IGNORED_NO_OPEN_ISSUE
    assert folded.events == [] and folded.state is None


def test_resolved_alert_on_a_resolved_issue_is_ignored() -> None:
    *_, last = fold_all(
        received(0), received(1, 10, severity="resolved"), received(2, 20, severity="resolved")
    )
    assert last.outcome is FoldOutcome.IGNORED_ALREADY_RESOLVED
    assert last.events == []


def test_firing_alert_on_a_resolved_issue_reopens_it() -> None:
    opened, _, reopened = fold_all(
        received(0), received(1, 10, severity="resolved"), received(2, 20)
    )
    assert reopened.outcome is FoldOutcome.REOPENED
    assert [e.type for e in reopened.events] == ["IssueReopened"]
    assert reopened.events[0].issue_id == opened.events[0].issue_id
    assert reopened.state is not None
    assert reopened.state.status == "open" and reopened.state.resolved_at is None
    assert reopened.state.alert_count == 3


def test_new_severity_is_recorded_as_a_severity_change() -> None:
    *_, last = fold_all(received(0, severity="warning"), received(1, 10, severity="panic"))
    assert [e.type for e in last.events] == ["AlertGrouped", "SeverityChanged"]
    assert last.events[1].data == {"previous": "warning", "severity": "panic", "member": None}
    assert last.state is not None and last.state.severity == "panic"


def test_each_event_carries_the_issue_as_it_was_right_after_it() -> None:
    *_, last = fold_all(received(0, severity="warning"), received(1, 10, severity="panic"))
    grouped, changed = last.events
    assert grouped.issue.severity == "warning" and grouped.version == 2
    assert changed.issue.severity == "panic" and changed.version == 3


def test_alert_older_than_the_issues_last_alert_is_ignored() -> None:
    *_, last = fold_all(received(0, seconds=100), received(1, seconds=50))
    assert last.outcome is FoldOutcome.IGNORED_STALE
    assert last.state is not None and last.state.alert_count == 1


def test_other_correlation_ids_open_their_own_issues() -> None:
    one = fold_alert(None, received(0))
    other = fold_alert(None, received(1, correlationId="disk-full"))
    assert one.events[0].issue_id != other.events[0].issue_id


def test_folding_the_same_input_twice_yields_identical_events() -> None:
    state = fold_alert(None, received(0)).state
    again = [fold_alert(state, received(1, 10)).events for _ in range(2)]
    assert again[0] == again[1]
    assert again[0][0].model_dump_json() == again[1][0].model_dump_json()


def test_event_ids_differ_per_input_position() -> None:
    state = fold_alert(None, received(0)).state
    a = fold_alert(state, received(1, 10)).events[0]
    b = fold_alert(state, received(2, 10)).events[0]
    assert a.event_id != b.event_id


def test_missing_alert_timestamp_falls_back_to_the_time_it_was_received() -> None:
    item = received(0)
    bare = AlertReceived(
        alert=Alert.from_json_obj({**item.alert.to_json_obj(), "timestamp": None}),
        position=item.position,
        received_at=T0 + timedelta(minutes=5),
    )
    folded = fold_alert(None, bare)
    assert folded.events[0].occurred_at == T0 + timedelta(minutes=5)


def test_header_when_resolved_replaces_the_header_once_resolved() -> None:
    *_, last = fold_all(
        received(0, headerWhenResolved="Database back"),
        received(1, 10, severity="resolved", headerWhenResolved="Database back"),
    )
    assert last.events[0].issue.header == "Database back"
