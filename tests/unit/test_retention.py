"""Retention decides what the read models forget, given "now": closed issues after 180 days
without change, alert bodies after 30 days. Open issues never expire."""

from __future__ import annotations

import json
from datetime import timedelta

from harness.stories import BASE_TIME, IssueStory, issue_event
from projections.lookup import fold_lookup, issue_view
from projections.retention import (
    RetentionPolicy,
    alert_expires,
    apply_retention,
    issue_expires,
)

POLICY = RetentionPolicy()  # Slack Manager's ages: 180 days closed issues, 30 days alerts
DAY = timedelta(days=1)


def resolved_story(issue_id: str) -> IssueStory:
    story = IssueStory(issue_id)
    story.opened()
    story.resolved()
    return story


def test_defaults_are_slack_managers_ages() -> None:
    assert POLICY.closed_issues == 180 * DAY
    assert POLICY.alerts == 30 * DAY
    assert RetentionPolicy.of_days(closed_issues=7, alerts=1) == RetentionPolicy(7 * DAY, DAY)


def test_a_closed_issue_expires_once_unchanged_for_the_closed_issue_age() -> None:
    rows = fold_lookup(resolved_story("i-1").events)
    closed_at = rows["i-1"]["updated_at"]

    assert "i-1" in apply_retention(rows, closed_at + 180 * DAY, POLICY)
    assert apply_retention(rows, closed_at + 180 * DAY + timedelta(microseconds=1), POLICY) == {}


def test_archived_issues_are_closed_too() -> None:
    archived = issue_event(status="archived", version=3, type="IssueArchived")
    rows = fold_lookup([archived])

    assert apply_retention(rows, archived.issue.updated_at + 181 * DAY, POLICY) == {}


def test_open_issues_never_expire_but_lose_their_old_alert_body() -> None:
    story = IssueStory("open-1")
    story.opened()
    rows = fold_lookup(story.events)
    later = BASE_TIME + 1000 * DAY

    kept = apply_retention(rows, later, POLICY)

    assert set(kept) == {"open-1"}
    assert kept["open-1"]["last_alert_at"] is None
    assert json.loads(kept["open-1"]["snapshot"])["last_alert"] == {}
    view = issue_view(kept["open-1"])
    assert view["last_alert"] == {}
    assert (view["header"], view["text"], view["alert_count"]) == (
        "Disk almost full",
        "first alert",
        1,
    )


def test_an_alert_body_is_kept_until_the_alert_age() -> None:
    story = IssueStory("open-1")
    story.opened()
    rows = fold_lookup(story.events)
    alert_at = rows["open-1"]["last_alert_at"]

    assert apply_retention(rows, alert_at + 30 * DAY, POLICY) == rows
    assert apply_retention(rows, alert_at + 31 * DAY, POLICY)["open-1"]["last_alert_at"] is None


def test_the_alert_age_is_the_last_alerts_timestamp_not_the_issues_last_change() -> None:
    alert_time = BASE_TIME
    event = issue_event(version=4, updated_at=BASE_TIME + 20 * DAY)
    event = event.model_copy(
        update={
            "issue": event.issue.model_copy(
                update={"last_alert": {**event.issue.last_alert, "timestamp": "2024-05-01T12:00Z"}}
            )
        }
    )
    rows = fold_lookup([event])

    assert rows["issue-1"]["last_alert_at"] == alert_time
    cutoffs = POLICY.cutoffs(BASE_TIME + 31 * DAY)
    assert alert_expires(rows["issue-1"], cutoffs)
    assert not issue_expires(rows["issue-1"], cutoffs)


def test_an_alert_without_timestamp_is_as_old_as_the_issues_last_change() -> None:
    event = issue_event(last_alert={"header": "no time"})
    assert fold_lookup([event])["issue-1"]["last_alert_at"] == event.issue.updated_at


def test_a_stripped_alert_is_not_stripped_again() -> None:
    story = IssueStory("open-1")
    story.opened()
    later = BASE_TIME + 100 * DAY
    once = apply_retention(fold_lookup(story.events), later, POLICY)

    assert apply_retention(once, later, POLICY) == once
    assert not alert_expires(once["open-1"], POLICY.cutoffs(later))


def test_retention_is_decided_by_the_given_now_alone() -> None:
    rows = fold_lookup(resolved_story("i-1").events + resolved_story("i-2").events)
    now = BASE_TIME + 10 * DAY

    assert apply_retention(rows, now, POLICY) == apply_retention(rows, now, POLICY)
    assert apply_retention(rows, now, RetentionPolicy.of_days(closed_issues=5, alerts=5)) == {}
