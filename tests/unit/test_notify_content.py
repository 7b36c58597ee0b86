"""What a notification says, to people and to webhook receivers."""

from __future__ import annotations

import json
from typing import Any

from domain.records import IssueEventRecord
from domain.severity import Severity
from gateways.notify.content import (
    html_body,
    link,
    summary,
    text_body,
    title,
    webhook_body,
    webhook_payload,
)
from gateways.notify.sending import Notification, NotificationKind
from harness.stories import IssueStory, issue_event

ALICE = {"kind": "slack", "id": "U1", "name": "Alice"}


def notification(
    event: IssueEventRecord,
    kind: NotificationKind = NotificationKind.OPENED,
    *,
    public_url: str = "",
    **issue: Any,
) -> Notification:
    if issue:
        event = event.model_copy(update={"issue": event.issue.model_copy(update=issue)})
    return Notification(kind, event, delivery_id="d-1", public_url=public_url)


def test_title_names_severity_header_and_status() -> None:
    opened = notification(issue_event(header=":status: Disk almost full"))
    assert title(opened) == "ERROR Disk almost full (open)"
    acked = notification(issue_event(), NotificationKind.ACKNOWLEDGED, acknowledged_by=ALICE)
    assert title(acked) == "ERROR Disk almost full (acknowledged)"


def test_a_header_less_issue_is_titled_by_its_correlation_id() -> None:
    assert title(notification(issue_event(header="", correlation_id="db/primary"))) == (
        "ERROR db/primary (open)"
    )


def test_the_text_body_lists_what_a_responder_needs() -> None:
    story = IssueStory(severity=Severity.PANIC)
    story.opened("first")
    event = story.grouped("the disk is full")
    body = text_body(
        notification(
            event,
            NotificationKind.ESCALATED,
            public_url="https://alertfold.example/",
            acknowledged_by=ALICE,
            last_alert=event.issue.last_alert | {"link": "https://grafana.example/d/1"},
        )
    )
    assert body.splitlines()[0] == "PANIC Disk almost full (acknowledged): escalated"
    for line in (
        "the disk is full",
        "Severity:        PANIC",
        "Alerts:          2",
        "First seen:      2024-05-01 12:00:00 UTC",
        "Last seen:       2024-05-01 12:01:00 UTC",
        "Channel:         C0001",
        "Acknowledged by: Alice",
        "Link:            https://grafana.example/d/1",
        "Issue:           https://alertfold.example/issues/issue-1",
    ):
        assert line in body.splitlines()


def test_resolved_says_by_whom() -> None:
    story = IssueStory()
    story.opened()
    resolved = notification(story.resolved(), NotificationKind.RESOLVED, resolved_by=ALICE)
    assert "resolved by Alice" in summary(resolved)
    assert "Resolved by:" in text_body(resolved)


def test_a_reminder_says_nobody_acknowledged_the_issue() -> None:
    reminded = notification(issue_event(version=3, type="IssueReminded"), NotificationKind.REMINDED)
    assert summary(reminded) == (
        "ERROR Disk almost full (open): reminder: still open, nobody acknowledged it, "
        "3 alerts in C0001"
    )
    assert webhook_payload(reminded)["kind"] == "reminded"


def test_html_escapes_everything_the_alert_sender_wrote() -> None:
    body = html_body(notification(issue_event(header="<script>x</script>", text="a & b <i>")))
    assert "<script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert "a &amp; b &lt;i&gt;" in body


def test_only_http_links_become_html_links() -> None:
    event = issue_event()
    javascript = event.issue.last_alert | {"link": "javascript:alert(1)"}
    assert "href" not in html_body(notification(event, last_alert=javascript))
    https = event.issue.last_alert | {"link": "https://x.example/?a=1&b=2"}
    assert '<a href="https://x.example/?a=1&amp;b=2">' in html_body(
        notification(event, last_alert=https)
    )


def test_the_summary_fits_pagerduty() -> None:
    long = notification(issue_event(header="x" * 3000))
    assert len(summary(long)) == 1024
    assert summary(long).endswith("…")


def test_the_webhook_document_has_the_documented_shape() -> None:
    event = issue_event(type="IssueSilenced", data={"until": "2024-05-02T00:00:00Z"})
    payload = webhook_payload(notification(event, public_url="https://af.example"))
    assert payload == {
        "schema_version": 1,
        "delivery_id": "d-1",
        "kind": "opened",
        "event": {
            "type": "IssueSilenced",
            "event_id": "issue-1:1",
            "issue_id": "issue-1",
            "version": 1,
            "occurred_at": "2024-05-01T12:00:00Z",
            "data": {"until": "2024-05-02T00:00:00Z"},
        },
        "issue": {
            "id": "issue-1",
            "channel_id": "C0001",
            "correlation_id": "corr-1",
            "status": "open",
            "severity": "error",
            "alert_count": 1,
            "header": "Disk almost full",
            "text": "/var is 91% full",
            "opened_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-01T12:00:00Z",
            "resolved_at": None,
            "acknowledged_by": None,
            "silenced_until": None,
            "link": "https://af.example/issues/issue-1",
        },
    }


def test_the_webhook_body_is_compact_utf8_json_of_that_document() -> None:
    sent = notification(issue_event(header="Плата перегрета 🔥"))
    body = webhook_body(sent)
    assert "Плата перегрета 🔥".encode() in body
    assert json.loads(body) == webhook_payload(sent)
    assert b", " not in body


def test_the_link_prefers_the_alerts_own() -> None:
    event = issue_event()
    with_link = event.issue.last_alert | {"link": "https://runbook.example/disk"}
    assert link(notification(event, public_url="https://af.example", last_alert=with_link)) == (
        "https://runbook.example/disk"
    )
    assert link(notification(event)) == ""


def test_a_test_notification_says_so() -> None:
    sent = notification(issue_event(), NotificationKind.TEST)
    assert title(sent) == "Test notification from alertfold"
    assert "this channel works" in text_body(sent)
