"""What a channel would read about an issue."""

from __future__ import annotations

from domain.severity import Severity
from gateways.slack.dry_run import describe
from gateways.slack.rendering import message_summary, with_status
from harness.stories import issue_event


def test_status_placeholder_becomes_the_severity_emoji() -> None:
    event = issue_event(severity=Severity.PANIC, header=":status: API down")
    assert with_status(event.issue.header, event.issue) == ":scream: API down"


def test_resolved_issue_shows_the_check_mark_whatever_its_last_severity() -> None:
    event = issue_event(status="resolved", severity=Severity.ERROR, header="API down")
    assert message_summary(event.issue).startswith(":white_check_mark: API down")


def test_summary_shows_the_header_as_written_without_pinging_anyone() -> None:
    event = issue_event(header="<!channel> & <@U0BOSS> down", alert_count=1)
    assert (
        message_summary(event.issue)
        == ":x: &lt;!channel&gt; &amp; &lt;@U0BOSS&gt; down (open, 1 alert)"
    )


def test_summary_counts_the_alerts() -> None:
    event = issue_event(severity=Severity.WARNING, header="Disk", alert_count=3)
    assert message_summary(event.issue) == ":warning: Disk (open, 3 alerts)"


def test_opened_issue_would_be_posted_and_later_events_would_update() -> None:
    assert describe(issue_event(type="IssueOpened")).startswith("dry-run: would post in ")
    assert describe(issue_event(type="AlertGrouped", version=2)).startswith(
        "dry-run: would update in "
    )
