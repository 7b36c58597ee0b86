"""What each sender puts on the wire, built without a network: headers, bodies, ids."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any

import httpx
import pytest

from domain.records import IssueEventRecord
from domain.severity import Severity
from gateways.notify.content import webhook_body
from gateways.notify.email import EmailSender, email_message, message_id, thread_id
from gateways.notify.http_post import retry_after_seconds
from gateways.notify.ntfy import NtfySender, header_text, ntfy_headers, ntfy_message, priority
from gateways.notify.pagerduty import PagerDutySender, pagerduty_event
from gateways.notify.senders import sender_for
from gateways.notify.sending import Notification, NotificationKind
from gateways.notify.targets import (
    EmailTarget,
    NtfyTarget,
    PagerDutyTarget,
    Target,
    WebhookTarget,
)
from gateways.notify.webhook import WebhookSender, signature, webhook_headers
from harness.stories import IssueStory, issue_event

KEY = "K" * 32


def notification(
    event: IssueEventRecord, kind: NotificationKind = NotificationKind.OPENED, **issue: Any
) -> Notification:
    if issue:
        event = event.model_copy(update={"issue": event.issue.model_copy(update=issue)})
    return Notification(kind, event, delivery_id="d-7", public_url="https://af.example")


def test_the_webhook_signature_is_an_hmac_of_the_exact_body() -> None:
    target = WebhookTarget(url="https://h.example/hook", signing_secret="s3cret")  # type: ignore[arg-type]
    sent = notification(issue_event())
    body = webhook_body(sent)
    headers = webhook_headers(target, sent, body)
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Alertfold-Signature"] == f"sha256={expected}" == signature("s3cret", body)
    assert headers["X-Alertfold-Delivery"] == "d-7"
    assert "Authorization" not in headers


@pytest.mark.parametrize(
    ("severity", "kind", "expected"),
    [
        (Severity.PANIC, NotificationKind.OPENED, 5),
        (Severity.ERROR, NotificationKind.ESCALATED, 4),
        (Severity.WARNING, NotificationKind.OPENED, 3),
        (Severity.INFO, NotificationKind.OPENED, 2),
        (Severity.RESOLVED, NotificationKind.UNACKNOWLEDGED, 1),
        (Severity.PANIC, NotificationKind.RESOLVED, 2),
        (Severity.PANIC, NotificationKind.ACKNOWLEDGED, 2),
    ],
)
def test_ntfy_priority_follows_severity_and_quiets_down_when_resolved(
    severity: Severity, kind: NotificationKind, expected: int
) -> None:
    assert priority(notification(issue_event(severity=severity), kind)) == expected


def test_ntfy_headers_carry_title_tags_click_and_token() -> None:
    target = NtfyTarget(topic="ops", token="tk_secret")  # type: ignore[arg-type]
    headers = ntfy_headers(target, notification(issue_event(severity=Severity.PANIC)))
    assert headers["Title"] == "PANIC Disk almost full (open)"
    assert headers["Priority"] == "5"
    assert headers["Tags"] == "rotating_light,panic"
    assert headers["Click"] == "https://af.example/issues/issue-1"
    assert headers["Authorization"] == "Bearer tk_secret"
    assert all(value.isascii() for value in headers.values())


def test_non_ascii_header_values_travel_as_rfc_2047_words() -> None:
    title = "Диск почти заполнен на сервере базы данных 🔥 — срочно"
    encoded = header_text(title)
    assert encoded.isascii()
    assert all(len(word) <= 75 for word in encoded.split(" "))
    assert str(make_header(decode_header(encoded))) == title
    assert header_text("plain") == "plain"


def test_ntfy_messages_stay_under_ntfys_size_limit() -> None:
    body = ntfy_message(notification(issue_event(text="é" * 5000)))
    assert len(body) <= 4000
    body.decode()


def test_pagerduty_trigger_carries_the_required_payload() -> None:
    story = IssueStory(severity=Severity.PANIC)
    story.opened()
    event = story.grouped()
    sent = notification(event, last_alert=event.issue.last_alert | {"host": "db-1"})
    body = pagerduty_event(sent, KEY)
    assert body["routing_key"] == KEY
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "issue-1"
    payload = body["payload"]
    assert payload["severity"] == "critical"
    assert payload["source"] == "db-1"
    assert payload["summary"].startswith("PANIC Disk almost full (open)")
    assert payload["custom_details"]["alert_count"] == 2
    assert body["links"] == [{"href": "https://af.example/issues/issue-1", "text": "alertfold"}]


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (NotificationKind.ESCALATED, "trigger"),
        (NotificationKind.ACKNOWLEDGED, "acknowledge"),
        (NotificationKind.UNACKNOWLEDGED, "trigger"),
        (NotificationKind.RESOLVED, "resolve"),
    ],
)
def test_pagerduty_actions_follow_the_issue(kind: NotificationKind, action: str) -> None:
    body = pagerduty_event(notification(issue_event(), kind), KEY)
    assert (body["event_action"], body["dedup_key"]) == (action, "issue-1")
    assert ("payload" in body) == (action == "trigger")


def test_a_pagerduty_test_never_touches_a_real_alert() -> None:
    body = pagerduty_event(notification(issue_event(), NotificationKind.TEST), KEY)
    assert body["dedup_key"] == "alertfold-test-d-7"
    assert body["event_action"] == "trigger"


def test_email_threads_every_update_of_an_issue() -> None:
    target = EmailTarget(host="smtp", sender="af@example.com", recipients=("ops@example.com",))
    story = IssueStory(issue_id="7f3c-uuid")
    first, second = story.opened(), story.grouped()
    one = email_message(target, notification(first))
    two = email_message(target, notification(second))
    assert one["Subject"] == "[alertfold] ERROR Disk almost full (open)"
    assert one["In-Reply-To"] == one["References"] == thread_id("7f3c-uuid")
    assert two["References"] == "<issue-7f3c-uuid@alertfold>"
    assert one["Message-ID"] != two["Message-ID"]
    assert one["Message-ID"] == message_id(notification(first))
    assert [part.get_content_type() for part in one.iter_parts()] == ["text/plain", "text/html"]


def test_message_ids_stay_valid_whatever_the_ids_contain() -> None:
    event = issue_event(issue_id="a b<c>@d", event_id="x y")
    assert " " not in message_id(notification(event))
    assert thread_id("a b<c>@d").count("@") == 1


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_each_target_kind_gets_its_sender() -> None:
    http = httpx.AsyncClient()
    targets: list[Target] = [
        WebhookTarget(url="https://h.example"),
        NtfyTarget(topic="ops"),
        EmailTarget(host="smtp", sender="a@b.c", recipients=("d@e.f",)),
        PagerDutyTarget(routing_key=KEY),  # type: ignore[arg-type]
    ]
    senders = [type(sender_for(target, http=http)) for target in targets]
    assert senders == [WebhookSender, NtfySender, EmailSender, PagerDutySender]


def test_a_test_email_gets_an_id_of_its_own() -> None:
    event = issue_event()
    test = Notification(NotificationKind.TEST, event, delivery_id="t-1")
    opened = Notification(NotificationKind.OPENED, event, delivery_id="t-1")
    assert message_id(test) != message_id(opened)
