"""How the audit tells an issue's history: summaries, who did it, which input, and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.member_alerts import MemberAlert
from domain.records import InputPosition
from domain.severity import Severity
from harness.stories import IssueStory, alert_json, issue_event
from projections.audit_history import history_entry, parse_time, summarize, who


def test_every_event_of_a_story_gets_a_readable_line() -> None:
    story = IssueStory(header="Database down")
    story.opened()
    story.grouped()
    story.grouped()
    story.severity_changed(Severity.PANIC)
    story.resolved()
    story.reopened()
    assert [summarize(event) for event in story.events] == [
        "opened: Database down (error)",
        "alert grouped (2 alerts)",
        "alert grouped (3 alerts)",
        "severity → panic",
        "resolved by alert",
        "reopened (panic, 4 alerts)",
    ]


def test_severity_changes_show_both_sides_when_the_event_has_them() -> None:
    event = issue_event(
        version=2, type="SeverityChanged", data={"previous": "error", "severity": "panic"}
    )
    assert summarize(event) == "severity error → panic"


def test_a_severity_change_names_the_member_alert_that_made_it() -> None:
    event = issue_event(
        version=5,
        type="SeverityChanged",
        data={"previous": "error", "severity": "warning", "member": "fp-1"},
    )
    member = MemberAlert(
        fingerprint="fp-1",
        labels={"alertname": "DiskFull", "instance": "db-1"},
        status="resolved",
        severity=Severity.ERROR,
        starts_at=event.occurred_at,
        last_seen=event.occurred_at,
    )
    event = event.model_copy(update={"issue": event.issue.model_copy(update={"members": [member]})})

    assert summarize(event) == "severity error → warning by alert instance=db-1"


@pytest.mark.parametrize(
    ("type_", "data", "expected"),
    [
        ("IssueResolved", {"resolution": "auto"}, "auto-resolved"),
        ("IssueResolved", {"resolution": "inconclusive"}, "auto-resolved (inconclusive)"),
        ("NotificationDelayElapsed", {}, "notification delay elapsed: issue shown"),
        ("IssueArchived", {"reason": "fire_and_forget"}, "archived (fire and forget)"),
        (
            "IssueEscalated",
            {
                "level": 2,
                "previous": "warning",
                "severity": "panic",
                "mentions": ["<!here>"],
                "move_to_channel": "C0BIG",
            },
            "escalated to level 2: severity warning → panic, mentions <!here>, moved to C0BIG",
        ),
    ],
)
def test_deadline_events_are_summarized(type_: str, data: dict[str, object], expected: str) -> None:
    assert summarize(issue_event(version=3, type=type_, data=data)) == expected


def test_an_unknown_event_type_is_described_by_its_name_and_scalar_data() -> None:
    event = issue_event(
        version=2, type="IssueAcknowledged", data={"by": "U042", "note": "", "extra": {"a": 1}}
    )
    assert summarize(event) == "issue acknowledged (by=U042)"


def test_a_known_type_in_an_unexpected_shape_falls_back_to_the_generic_summary() -> None:
    assert summarize(issue_event(version=2, type="IssueEscalated", data={})) == "issue escalated"


def test_a_person_named_by_the_event_comes_first() -> None:
    assert who(issue_event(version=2, data={"actor": "alice"})) == "alice"
    assert who(issue_event(version=2, data={"user": {"id": "U1", "name": "bob"}})) == "bob"
    assert who(issue_event(version=2, data={"user": {"id": "U1"}})) == "U1"


def test_then_the_author_or_host_of_the_alert_that_caused_it() -> None:
    alert = {"author": "prometheus", "host": "db-1"}
    assert who(issue_event(version=2, data={"alert": alert})) == "prometheus"
    assert who(issue_event(version=2, data={"alert": {"host": "db-1"}})) == "db-1"


def test_a_decision_on_a_tick_is_the_clocks_even_with_a_last_alert() -> None:
    last = {**_alert(), "author": "prometheus"}
    event = issue_event(
        version=3,
        type="IssueEscalated",
        last_alert=last,
        cause=InputPosition(topic="t1-ticks", partition=2, offset=7),
    )
    assert who(event) == "clock"


def test_otherwise_the_sender_of_the_issues_last_alert_or_nobody() -> None:
    with_host = issue_event(version=2, last_alert={**_alert(), "host": "web-3"})
    assert who(with_host) == "web-3"
    assert who(issue_event(version=2)) == "—"


def test_a_history_entry_names_its_input_and_the_state_after_it() -> None:
    event = issue_event(
        version=2,
        cause=InputPosition(topic="alerts", partition=3, offset=41),
        data={"alert": {"author": "grafana"}},
    )
    entry = history_entry(event)
    assert entry.source == "alerts[3]@41"
    assert entry.as_json() == {
        "version": 2,
        "type": "AlertGrouped",
        "event_id": "issue-1:2",
        "occurred_at": "2024-05-01T12:01:00Z",
        "summary": "alert grouped (2 alerts)",
        "who": "grafana",
        "source": "alerts[3]@41",
        "status": "open",
        "severity": "error",
    }


def test_times_are_iso_8601_and_utc_when_no_zone_is_given() -> None:
    assert parse_time("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_time("2024-05-01 12:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert parse_time("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 14, tzinfo=plus_two)
    with pytest.raises(ValueError, match="'yesterday' is not a time: use ISO 8601"):
        parse_time("yesterday")


def _alert() -> dict[str, object]:
    return alert_json(
        channel_id="C0001",
        correlation_id="corr-1",
        header="Disk almost full",
        text="/var is 91% full",
        severity=Severity.ERROR,
        timestamp=datetime(2024, 5, 1, 12, tzinfo=UTC),
    )
