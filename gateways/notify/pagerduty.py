"""PagerDuty channel: Events API v2 (`POST /v2/enqueue`), one alert per issue.

The issue id is the dedup key, so every notification of an issue lands on the same PagerDuty
alert: opened and escalated trigger it, acknowledged acknowledges it, unacknowledged triggers
it again (PagerDuty puts an acknowledged alert back to triggered), resolved resolves it, and
a reminder triggers it again, which PagerDuty logs on the open alert without a new one. A
test triggers an alert of its own (`alertfold-test-<delivery id>`) so it never touches a real
one. PagerDuty answers 202; 400 means the event is invalid (final), 429 and 5xx are retried.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from domain.severity import Severity
from gateways.notify.content import (
    alert_host,
    alert_link,
    clip,
    issue_url,
    status_label,
    summary,
)
from gateways.notify.http_post import HTTP_TIMEOUT, post
from gateways.notify.sending import DeliveryResult, Notification, NotificationKind
from gateways.notify.targets import PagerDutyTarget

DEDUP_KEY_LIMIT = 255
CLIENT = "alertfold"
TEXT_LIMIT = 4000  # far below PagerDuty's 512 KB cap, enough for any alert text
PAGERDUTY_SEVERITY = {
    Severity.PANIC: "critical",
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
    Severity.RESOLVED: "info",
}
EVENT_ACTION = {
    NotificationKind.OPENED: "trigger",
    NotificationKind.ESCALATED: "trigger",
    NotificationKind.UNACKNOWLEDGED: "trigger",
    NotificationKind.REMINDED: "trigger",
    NotificationKind.TEST: "trigger",
    NotificationKind.ACKNOWLEDGED: "acknowledge",
    NotificationKind.RESOLVED: "resolve",
}


def dedup_key(notification: Notification) -> str:
    if notification.kind is NotificationKind.TEST:
        key = f"alertfold-test-{notification.delivery_id}"
    else:
        key = notification.event.issue.id
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    return "alertfold-" + hashlib.sha256(key.encode()).hexdigest()


def pagerduty_event(notification: Notification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for `notification`."""
    action = EVENT_ACTION[notification.kind]
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(notification),
    }
    if action != "trigger":
        return event
    issue = notification.event.issue
    event["payload"] = {
        "summary": summary(notification),
        "source": alert_host(issue) or issue.channel_id,
        "severity": PAGERDUTY_SEVERITY[issue.severity],
        "timestamp": notification.event.occurred_at.isoformat().replace("+00:00", "Z"),
        "component": issue.correlation_id,
        "group": issue.channel_id,
        "class": notification.event.type,
        "custom_details": {
            "kind": notification.kind.value,
            "status": status_label(issue),
            "alert_count": issue.alert_count,
            "text": clip(issue.text, TEXT_LIMIT),
            "issue_id": issue.id,
            "channel_id": issue.channel_id,
            "correlation_id": issue.correlation_id,
            "opened_at": issue.opened_at.isoformat().replace("+00:00", "Z"),
            "escalation_level": issue.escalation_level,
        },
    }
    links = [
        {"href": href, "text": text}
        for href, text in ((alert_link(issue), "Alert"), (issue_url(notification), "alertfold"))
        if href
    ]
    if links:
        event["links"] = links
    event["client"] = CLIENT
    if notification.public_url.startswith(("http://", "https://")):
        event["client_url"] = notification.public_url
    return event


class PagerDutySender:
    def __init__(
        self, target: PagerDutyTarget, *, http: httpx.AsyncClient, timeout: float = HTTP_TIMEOUT
    ) -> None:
        self._target = target
        self._http = http
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"PagerDutySender({self._target!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        key = self._target.routing_key.get_secret_value()
        body = json.dumps(pagerduty_event(notification, key), ensure_ascii=False).encode()
        return await post(
            self._http,
            self._target.events_url,
            content=body,
            headers={"Content-Type": "application/json"},
            secrets=[key],
            timeout=self._timeout,
        )
