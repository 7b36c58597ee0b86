"""Notification channels as HTML forms: a fieldset per kind, and what a channel would receive.

A form names its fields `<kind>.<field>`, so every kind's fieldset can be on the page at
once (the kind picker shows one); only the chosen kind's fields are read. A secret field
left blank keeps the secret stored for the channel (shown as "stored", never its value).
The preview is the test notification (`gateways.notify.trial`) as the channel's sender would
send it, with credentials masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gateways.notify.channels import (
    ChannelSpec,
    NotificationChannel,
    target_public,
    target_secrets,
)
from gateways.notify.content import text_body, webhook_body
from gateways.notify.email import email_message
from gateways.notify.ntfy import ntfy_headers, ntfy_message, topic_url
from gateways.notify.pagerduty import pagerduty_event
from gateways.notify.targets import EmailTarget, NtfyTarget, PagerDutyTarget, WebhookTarget
from gateways.notify.trial import trial_notification
from gateways.notify.webhook import webhook_headers
from projections.notification_routing import RoutingRule

MASK = "***"
ROUTED_KINDS = ("opened", "escalated", "acknowledged", "unacknowledged", "resolved")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    input: str = "text"  # an <input type>, or "select"
    secret: bool = False
    options: tuple[str, ...] = ()
    hint: str = ""


KIND_LABELS = {"webhook": "Webhook", "ntfy": "ntfy", "email": "E-mail", "pagerduty": "PagerDuty"}
FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "webhook": (
        FieldSpec("url", "URL", "url", hint="https://…, receives one JSON POST per notification"),
        FieldSpec("bearer_token", "Bearer token", "password", secret=True),
        FieldSpec("header_name", "Extra header name"),
        FieldSpec("header_value", "Extra header value", "password", secret=True),
        FieldSpec("signing_secret", "Signing secret", "password", secret=True),
    ),
    "ntfy": (
        FieldSpec("server", "Server", "url", hint="https://ntfy.sh when blank"),
        FieldSpec("topic", "Topic"),
        FieldSpec("token", "Access token", "password", secret=True),
    ),
    "email": (
        FieldSpec("host", "SMTP host"),
        FieldSpec("port", "Port", "number", hint="587 when blank"),
        FieldSpec("security", "Security", "select", options=("starttls", "tls", "none")),
        FieldSpec("username", "User name"),
        FieldSpec("password", "Password", "password", secret=True),
        FieldSpec("sender", "Sender", "email"),
        FieldSpec("recipients", "Recipients", hint="comma-separated addresses"),
    ),
    "pagerduty": (
        FieldSpec("routing_key", "Integration key", "password", secret=True),
        FieldSpec("events_url", "Events API URL", "url", hint="PagerDuty's own when blank"),
    ),
}


class ChannelFormError(ValueError):
    """The form does not make a valid channel; the message names the field."""


def channel_from_form(
    form: Any, channel_id: str, existing: NotificationChannel | None
) -> NotificationChannel:
    """The channel a submitted form describes (`form.get`/`form.all` as `shell.Form`)."""
    kind = form.get("kind")
    if kind not in FIELDS:
        raise ChannelFormError("kind: choose webhook, ntfy, e-mail or PagerDuty")
    stored = target_secrets(existing.target) if existing and existing.target.kind == kind else {}
    target: dict[str, Any] = {"kind": kind}
    for spec in FIELDS[kind]:
        value = form.get(f"{kind}.{spec.name}")
        if spec.secret and not value and spec.name in stored:
            value = stored[spec.name]
        if spec.name == "recipients":
            target[spec.name] = [item.strip() for item in value.split(",") if item.strip()]
        elif value:
            target[spec.name] = value
    rule: dict[str, Any] = {
        "slack_channels": [
            c.strip().upper() for c in form.get("slack_channels").split(",") if c.strip()
        ],
        "kinds": form.all("kinds"),
    }
    if form.get("min_severity"):
        rule["min_severity"] = form.get("min_severity")
    body = {
        "name": form.get("name"),
        "enabled": form.get("enabled") == "on",
        "target": target,
        "rule": rule,
    }
    try:
        return NotificationChannel(id=channel_id, **dict(ChannelSpec.model_validate(body)))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != kind) or "channel"
        raise ChannelFormError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def form_of(channel: NotificationChannel) -> dict[str, str]:
    """A stored channel as the form's values; secrets are only said to be stored."""
    kind = channel.target.kind
    values = {
        "name": channel.name,
        "enabled": "on" if channel.enabled else "",
        "kind": kind,
        "slack_channels": ", ".join(channel.rule.slack_channels),
        "min_severity": channel.rule.min_severity.value if channel.rule.min_severity else "",
        "kinds": ",".join(channel.rule.kinds),
    }
    for name, value in target_public(channel.target).items():
        if name == "kind":
            continue
        values[f"{kind}.{name}"] = ", ".join(value) if isinstance(value, list) else str(value or "")
    for name in target_secrets(channel.target):
        values[f"{kind}.{name}.stored"] = "yes"
    return values


def rule_summary(rule: RoutingRule) -> str:
    parts = [
        "channels " + ", ".join(rule.slack_channels) if rule.slack_channels else "all channels",
        f"{rule.min_severity.value} and worse" if rule.min_severity else "",
        ", ".join(s.value for s in rule.severities) if rule.severities else "",
        ", ".join(rule.kinds) if rule.kinds else "every kind",
    ]
    return "; ".join(part for part in parts if part)


def payload_preview(channel: NotificationChannel, at: datetime, public_url: str) -> str:
    """What the channel's sender sends for a test notification, credentials masked."""
    notification = trial_notification(channel, at, public_url)
    target = channel.target
    if isinstance(target, WebhookTarget):
        body = webhook_body(notification)
        headers = _masked(webhook_headers(target, notification, body), target.header_name)
        return _request(target.url, headers, json.dumps(json.loads(body), indent=2))
    if isinstance(target, NtfyTarget):
        headers = _masked(ntfy_headers(target, notification), None)
        return _request(topic_url(target), headers, ntfy_message(notification).decode())
    if isinstance(target, EmailTarget):
        message = email_message(target, notification)
        heads = "\n".join(f"{k}: {message[k]}" for k in ("From", "To", "Subject"))
        return f"{heads}\n\n{text_body(notification)}"
    if isinstance(target, PagerDutyTarget):
        event = pagerduty_event(notification, MASK)
        return _request(target.events_url, {}, json.dumps(event, indent=2))
    return ""


def _masked(headers: dict[str, str], custom: str | None) -> dict[str, str]:
    hidden = {"authorization", (custom or "").lower()}
    return {k: MASK if k.lower() in hidden else v for k, v in headers.items()}


def _request(url: str, headers: dict[str, str], body: str) -> str:
    lines = [f"POST {url}", *(f"{k}: {v}" for k, v in headers.items())]
    return "\n".join(lines) + "\n\n" + body
