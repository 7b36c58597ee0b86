"""What a notification says: text for people (title, summary, plain and HTML bodies) and the
JSON document for machines (webhooks). Pure functions of a `Notification`.

Webhook JSON (schema_version 1)
-------------------------------
Each webhook delivery POSTs one JSON object (UTF-8, `Content-Type: application/json`)::

    {
      "schema_version": 1,
      "delivery_id": "…",          # same on every retry of one delivery: dedupe on it
      "kind": "opened",            # opened | escalated | acknowledged | unacknowledged |
                                   # resolved | reminded | test
      "event": {                   # the issue event that caused the delivery
        "type": "IssueOpened",     # open-ended: new event types may appear
        "event_id": "…", "issue_id": "…",
        "version": 1,              # the issue's version after the event
        "occurred_at": "2024-05-01T12:00:00Z",
        "data": {}                 # event-specific details, as on the issue-events topic
      },
      "issue": {                   # the issue right after the event
        "id": "…", "channel_id": "C0001", "correlation_id": "…",
        "status": "open",          # open | resolved | archived
        "severity": "error",       # panic | error | warning | info | resolved
        "alert_count": 1,
        "header": "…", "text": "…",
        "opened_at": "…", "updated_at": "…",
        "resolved_at": null,       # timestamps: RFC 3339, UTC, or null
        "acknowledged_by": null,   # {"kind", "id", "name"} of who acknowledged, or null
        "silenced_until": null,
        "link": null               # the alert's own link; else the issue on alertfold's API
                                   # when a public URL is configured; else null
      }
    }

Fields may be added to any object within schema_version 1; removing or changing one means a
new schema_version. Headers: `X-Alertfold-Delivery: <delivery_id>`, and, when the channel
has a signing secret, `X-Alertfold-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from domain.issue_state import NOTIFIED, IssueSnapshot
from gateways.notify.sending import Notification, NotificationKind

WEBHOOK_SCHEMA_VERSION = 1
SUMMARY_LIMIT = 1024
_EVENT_FIELDS = ("type", "event_id", "issue_id", "version", "occurred_at", "data")
# The issue's fields the webhook document carries, in snapshot order: those marked for it.
_ISSUE_FIELDS = tuple(
    name for name, field in IssueSnapshot.model_fields.items() if NOTIFIED in field.metadata
)


# -- for machines ------------------------------------------------------------------------


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The documented webhook document (see the module docstring)."""
    event = notification.event.model_dump(mode="json")
    issue = event["issue"]
    return {
        "schema_version": WEBHOOK_SCHEMA_VERSION,
        "delivery_id": notification.delivery_id,
        "kind": notification.kind.value,
        "event": {name: event[name] for name in _EVENT_FIELDS},
        "issue": {name: issue.get(name) for name in _ISSUE_FIELDS}
        | {"link": link(notification) or None},
    }


def webhook_body(notification: Notification) -> bytes:
    """The exact bytes sent and signed: compact UTF-8 JSON."""
    return json.dumps(
        webhook_payload(notification), ensure_ascii=False, separators=(",", ":")
    ).encode()


# -- for people --------------------------------------------------------------------------


def header_of(issue: IssueSnapshot) -> str:
    """The issue's header without Slack's `:status:` placeholder, or its correlation id."""
    header = " ".join(issue.header.replace(":status:", " ").split())
    return header or issue.correlation_id or issue.id


def status_label(issue: IssueSnapshot) -> str:
    if issue.status == "open" and issue.acknowledged_by:
        return "acknowledged"
    return issue.status


def title(notification: Notification) -> str:
    """`ERROR Disk almost full (open)`: severity, header, status."""
    if notification.kind is NotificationKind.TEST:
        return "Test notification from alertfold"
    issue = notification.event.issue
    return f"{issue.severity.value.upper()} {header_of(issue)} ({status_label(issue)})"


def summary(notification: Notification) -> str:
    """One line of at most 1024 characters (PagerDuty's limit for a summary)."""
    issue = notification.event.issue
    alerts = "1 alert" if issue.alert_count == 1 else f"{issue.alert_count} alerts"
    line = f"{title(notification)}: {what_happened(notification)}, {alerts} in {issue.channel_id}"
    return clip(line, SUMMARY_LIMIT)


def what_happened(notification: Notification) -> str:
    issue = notification.event.issue
    match notification.kind:
        case NotificationKind.OPENED:
            return "new issue"
        case NotificationKind.ESCALATED:
            level = f" to level {issue.escalation_level}" if issue.escalation_level else ""
            return f"escalated{level}"
        case NotificationKind.ACKNOWLEDGED:
            return _by("acknowledged", issue.acknowledged_by)
        case NotificationKind.UNACKNOWLEDGED:
            return "no longer acknowledged"
        case NotificationKind.RESOLVED:
            if issue.resolution == "auto":
                return "resolved automatically"
            if issue.resolution == "inconclusive":
                return "resolved as inconclusive"
            return _by("resolved", issue.resolved_by)
        case NotificationKind.REMINDED:
            return "reminder: still open, nobody acknowledged it"
        case NotificationKind.TEST:
            return "test notification: this channel works"
    return notification.kind.value  # pragma: no cover - every kind is matched above


def details(notification: Notification) -> list[tuple[str, str]]:
    """Label and value of each fact worth showing, in reading order; empty ones left out."""
    issue = notification.event.issue
    rows = [
        ("Severity", issue.severity.value.upper()),
        ("Status", status_label(issue)),
        ("Alerts", str(issue.alert_count)),
        ("First seen", human_time(issue.opened_at)),
        ("Last seen", human_time(issue.updated_at)),
        ("Channel", issue.channel_id),
        ("Acknowledged by", actor_name(issue.acknowledged_by)),
        ("Resolved by", actor_name(issue.resolved_by)),
        ("Resolved at", human_time(issue.resolved_at)),
        ("Silenced until", human_time(issue.silenced_until)),
        ("Link", alert_link(issue)),
        ("Issue", issue_url(notification)),
    ]
    return [(label, value) for label, value in rows if value]


def text_body(notification: Notification) -> str:
    lines = [f"{title(notification)}: {what_happened(notification)}", ""]
    text = notification.event.issue.text.replace(":status:", "").strip()
    if text:
        lines += [text, ""]
    width = max(len(label) for label, _ in details(notification)) + 1
    lines += [f"{label + ':':<{width}} {value}" for label, value in details(notification)]
    return "\n".join(lines) + "\n"


def html_body(notification: Notification) -> str:
    """The same as `text_body`, every value escaped; only http(s) values become links."""
    e = html.escape
    text = notification.event.issue.text.replace(":status:", "").strip()
    rows = "".join(
        f'<tr><th align="left">{e(label)}</th><td>{_html_value(value)}</td></tr>'
        for label, value in details(notification)
    )
    paragraph = f'<p style="white-space: pre-wrap">{e(text)}</p>' if text else ""
    return (
        "<!DOCTYPE html><html><body>"
        f"<h2>{e(title(notification))}</h2><p>{e(what_happened(notification))}</p>"
        f"{paragraph}<table>{rows}</table></body></html>"
    )


# -- pieces ------------------------------------------------------------------------------


def alert_link(issue: IssueSnapshot) -> str:
    value = issue.last_alert.get("link")
    return value if isinstance(value, str) and _is_http(value) else ""


def issue_url(notification: Notification) -> str:
    base = notification.public_url.rstrip("/")
    if not _is_http(base):
        return ""
    return f"{base}/issues/{quote(notification.event.issue.id, safe='')}"


def link(notification: Notification) -> str:
    """Where a click should go: the alert's own link, else the issue on alertfold's API."""
    return alert_link(notification.event.issue) or issue_url(notification)


def alert_host(issue: IssueSnapshot) -> str:
    value = issue.last_alert.get("host")
    return value if isinstance(value, str) else ""


def actor_name(actor: dict[str, Any] | None) -> str:
    if not actor:
        return ""
    return str(actor.get("name") or actor.get("id") or "")


def human_time(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _by(verb: str, actor: dict[str, Any] | None) -> str:
    name = actor_name(actor)
    return f"{verb} by {name}" if name else verb


def _is_http(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _html_value(value: str) -> str:
    escaped = html.escape(value)
    return f'<a href="{escaped}">{escaped}</a>' if _is_http(value) else escaped
