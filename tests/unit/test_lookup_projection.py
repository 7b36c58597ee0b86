"""The lookup fold on plain lists of issue events: newest version wins, replays are no-ops."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.issue_state import IssueSnapshot
from domain.severity import Severity
from harness.stories import BASE_TIME, IssueStory, issue_event
from projections.lookup import (
    ISSUE_COLUMNS,
    fold_lookup,
    iso_utc,
    issue_row,
    issue_view,
    latest_events,
    should_apply,
)


@pytest.mark.parametrize(
    ("stored", "incoming", "expected"),
    [
        (None, 1, True),
        (None, 7, True),
        (1, 2, True),
        (1, 5, True),
        (2, 2, False),
        (3, 2, False),
    ],
)
def test_should_apply_only_strictly_newer_versions(
    stored: int | None, incoming: int, expected: bool
) -> None:
    assert should_apply(stored, incoming) is expected


def test_row_is_the_snapshot_of_the_event() -> None:
    event = issue_event(issue_id="i-9", version=3, type="SeverityChanged", severity=Severity.PANIC)

    row = issue_row(event)

    assert tuple(row) == ISSUE_COLUMNS
    assert row["id"] == "i-9"
    assert row["version"] == 3
    assert row["severity"] == "panic"
    assert row["status"] == "open"
    assert row["alert_count"] == 3
    assert row["last_event_type"] == "SeverityChanged"
    assert row["last_event_id"] == "i-9:3"
    assert row["opened_at"] == BASE_TIME
    assert row["updated_at"] == BASE_TIME + timedelta(minutes=2)
    assert row["resolved_at"] is None
    assert json.loads(row["snapshot"])["last_alert"]["severity"] == "panic"


def test_row_times_are_utc_whatever_the_event_offset() -> None:
    paris = timezone(timedelta(hours=2))
    event = issue_event(opened_at=datetime(2024, 5, 1, 14, 0, tzinfo=paris))

    row = issue_row(event)

    assert row["opened_at"] == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert row["opened_at"].utcoffset() == timedelta(0)


def test_newer_version_wins() -> None:
    story = IssueStory("i-1")
    story.opened()
    story.grouped()
    last = story.severity_changed(Severity.PANIC)

    rows = fold_lookup(story.events)

    assert list(rows) == ["i-1"]
    assert rows["i-1"] == issue_row(last)
    assert rows["i-1"]["version"] == 3
    assert rows["i-1"]["severity"] == "panic"
    assert rows["i-1"]["alert_count"] == 2


def test_duplicates_and_older_versions_are_ignored() -> None:
    story = IssueStory("i-1")
    opened = story.opened()
    grouped = story.grouped()
    resolved = story.resolved()

    rows = fold_lookup([opened, grouped, resolved, grouped, opened, resolved])

    assert rows["i-1"] == issue_row(resolved)


def test_first_of_equal_versions_wins() -> None:
    first = issue_event(version=2, event_id="a", text="first")
    second = issue_event(version=2, event_id="b", text="second")

    assert fold_lookup([first, second])["issue-1"]["last_event_id"] == "a"


def test_late_older_event_does_not_move_the_row_back() -> None:
    story = IssueStory("i-1")
    events = [story.opened(), story.grouped(), story.grouped(), story.resolved()]

    rows = fold_lookup([events[0], events[3], events[1], events[2]])

    assert rows["i-1"]["version"] == 4
    assert rows["i-1"]["status"] == "resolved"


def test_order_of_delivery_does_not_matter() -> None:
    stories = [IssueStory(f"i-{n}", channel_id=f"C{n % 3}") for n in range(20)]
    for story in stories:
        story.opened()
    for story in stories[::2]:
        story.grouped()
        story.resolved()
    for story in stories[::4]:
        story.reopened()
    events = [event for story in stories for event in story.events]
    expected = fold_lookup(events)

    shuffled = events * 2
    random.Random(7).shuffle(shuffled)

    assert fold_lookup(shuffled) == expected


def test_resolved_status_and_time_are_carried() -> None:
    story = IssueStory("i-1")
    story.opened()
    story.grouped()
    resolved = story.resolved()

    row = fold_lookup(story.events)["i-1"]

    assert row["status"] == "resolved"
    assert row["resolved_at"] == resolved.issue.resolved_at
    assert row["resolved_at"] == row["updated_at"]
    assert row["last_event_type"] == "IssueResolved"


def test_reopened_issue_clears_resolved_time() -> None:
    story = IssueStory("i-1")
    story.opened()
    story.resolved()
    story.reopened()

    row = fold_lookup(story.events)["i-1"]

    assert row["status"] == "open"
    assert row["resolved_at"] is None
    assert row["version"] == 3
    assert row["alert_count"] == 2


def test_unknown_event_types_still_update_the_row() -> None:
    opened = issue_event(version=1)
    escalated = issue_event(version=2, type="IssueEscalated", severity=Severity.PANIC)

    row = fold_lookup([opened, escalated])["issue-1"]

    assert row["last_event_type"] == "IssueEscalated"
    assert row["severity"] == "panic"


def test_counts_per_issue_status_and_channel() -> None:
    stories = [
        IssueStory("a1", channel_id="C-A"),
        IssueStory("a2", channel_id="C-A"),
        IssueStory("b1", channel_id="C-B"),
        IssueStory("b2", channel_id="C-B"),
        IssueStory("c1", channel_id="C-C"),
    ]
    for story in stories:
        story.opened()
    stories[0].grouped()
    stories[0].grouped()
    stories[2].resolved()
    stories[4].resolved()
    events = [event for story in stories for event in story.events]

    rows = fold_lookup(events)

    assert len(rows) == 5
    assert sorted(i for i, r in rows.items() if r["status"] == "open") == ["a1", "a2", "b2"]
    assert sorted(i for i, r in rows.items() if r["status"] == "resolved") == ["b1", "c1"]
    assert rows["a1"]["alert_count"] == 3
    assert {r["channel_id"] for r in rows.values() if r["status"] == "open"} == {"C-A", "C-B"}
    assert len(latest_events(events)) == 5


def test_empty_history_gives_no_rows() -> None:
    assert fold_lookup([]) == {}


def test_view_is_json_ready_with_utc_z_times() -> None:
    story = IssueStory("i-1")
    story.opened()
    story.resolved()
    row = fold_lookup(story.events)["i-1"]

    view = issue_view(row)

    json.dumps(view)
    assert view["opened_at"] == "2024-05-01T12:00:00Z"
    assert view["updated_at"] == "2024-05-01T12:01:00Z"
    assert view["resolved_at"] == "2024-05-01T12:01:00Z"
    assert view["last_alert"]["channelId"] == "C0001"
    assert view["version"] == 2


def test_view_serves_every_snapshot_field_then_the_event_that_left_the_row() -> None:
    view = issue_view(issue_row(issue_event(version=2, type="IssueAcknowledged")))

    assert list(view) == [
        *IssueSnapshot.model_fields,
        "version",
        "last_event_type",
        "last_event_id",
    ]
    assert (view["version"], view["last_event_type"]) == (2, "IssueAcknowledged")


def test_the_stored_view_shows_column_instants_in_utc_and_other_fields_as_written() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = issue_event(opened_at=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    acknowledged_at = datetime(2024, 5, 1, 14, 5, tzinfo=plus_two)
    event = event.model_copy(
        update={"issue": event.issue.model_copy(update={"acknowledged_at": acknowledged_at})}
    )

    stored = json.loads(issue_row(event)["snapshot"])

    assert stored["opened_at"] == "2024-05-01T12:00:00Z"
    assert stored["acknowledged_at"] == "2024-05-01T14:05:00+02:00"
    assert stored == issue_view(issue_row(event))
    assert stored == json.loads(event.issue.model_dump_json()) | {
        "opened_at": "2024-05-01T12:00:00Z",
        "updated_at": "2024-05-01T12:00:00Z",
        "version": 1,
        "last_event_type": "IssueOpened",
        "last_event_id": event.event_id,
    }


def test_a_snapshot_written_before_a_field_existed_is_served_with_its_default() -> None:
    row = issue_row(issue_event())
    written_then = json.loads(row["snapshot"])
    del written_then["mentions"], written_then["presentable"], written_then["silence_id"]

    view = issue_view({**row, "snapshot": json.dumps(written_then)})

    assert (view["mentions"], view["presentable"], view["silence_id"]) == ([], True, None)


def test_iso_utc_converts_offsets_and_naive_values() -> None:
    assert iso_utc(None) is None
    assert iso_utc(datetime(2024, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=3)))) == (
        "2024-01-01T00:00:00Z"
    )
    assert iso_utc(datetime(2024, 1, 1, 0, 0, 0, 5000)) == "2024-01-01T00:00:00.005000Z"


def test_the_view_header_leaves_out_the_status_placeholder_slack_fills_in() -> None:
    event = issue_event(header=":status: Disk almost full")

    assert issue_row(event)["header"] == "Disk almost full"
    assert issue_view(issue_row(event))["header"] == "Disk almost full"
    assert event.issue.header == ":status: Disk almost full"  # Slack still places its emoji


def test_the_view_lists_the_member_alerts_of_the_snapshot() -> None:
    event = issue_event()
    member = {
        "fingerprint": "fp-1",
        "labels": {"alertname": "DiskFull"},
        "annotations": {},
        "status": "firing",
        "severity": "error",
        "starts_at": "2026-11-23T08:00:00Z",
        "ends_at": None,
        "last_seen": "2026-11-23T09:00:00Z",
    }
    snapshot = IssueSnapshot.model_validate(
        {**event.issue.model_dump(), "members": [member], "truncated_alerts": 2}
    )
    with_members = event.model_copy(update={"issue": snapshot})

    view = issue_view(issue_row(with_members))

    assert view["members"] == [member]
    assert view["truncated_alerts"] == 2
