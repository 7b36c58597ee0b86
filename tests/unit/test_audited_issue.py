"""`AuditedIssue` rebuilds an issue at any version from the events the audit recorded."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from eventsourcing.domain import OriginatorVersionError

from domain.records import IssueEventRecord
from domain.severity import Severity
from harness.stories import IssueStory, issue_event
from projections.audited_issue import AuditedIssue


def rebuilt(events: Iterable[IssueEventRecord]) -> AuditedIssue:
    issue: AuditedIssue | None = None
    for event in events:
        issue = AuditedIssue.recorded(event).mutate(issue)
    assert issue is not None
    return issue


def test_each_event_is_recorded_at_the_issues_own_version_with_its_time() -> None:
    story = IssueStory()
    opened = story.opened()
    recorded = AuditedIssue.recorded(opened)
    assert (recorded.originator_id, recorded.originator_version) == ("issue-1", 1)
    assert recorded.timestamp == opened.occurred_at
    assert IssueEventRecord.model_validate(recorded.record) == opened


def test_the_state_at_a_version_is_the_snapshot_of_that_versions_event() -> None:
    story = IssueStory()
    story.opened()
    story.grouped()
    story.severity_changed(Severity.PANIC)
    story.resolved()
    issue = rebuilt(story.events[:3])
    assert issue.version == 3
    assert issue.snapshot == story.events[2].issue
    assert issue.modified_on == story.events[2].occurred_at
    assert issue.created_on == story.events[0].occurred_at


def test_a_missing_version_leaves_a_gap_not_a_failure() -> None:
    story = IssueStory()
    story.opened()
    story.grouped()
    story.grouped()
    issue = rebuilt([story.events[0], story.events[2]])
    assert issue.version == 3
    assert issue.snapshot.alert_count == 3


def test_an_issue_first_seen_after_its_opening_starts_at_that_version() -> None:
    issue = rebuilt([issue_event(version=4, alert_count=4)])
    assert (issue.version, issue.snapshot.alert_count) == (4, 4)


def test_versions_must_rise() -> None:
    story = IssueStory()
    story.opened()
    story.grouped()
    with pytest.raises(OriginatorVersionError):
        rebuilt([story.events[1], story.events[0]])
