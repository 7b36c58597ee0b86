"""ntfy channel: `POST {server}/{topic}` with the message as the body and the rest in headers.

Header publishing is ntfy's primary interface. HTTP header values are Latin-1 at best, so any
non-ASCII value (titles in other languages, emoji) is sent as RFC 2047 encoded words
(`=?utf-8?b?…?=`), which ntfy decodes; the body is UTF-8 as is.

Priority follows the issue's severity (panic 5, error 4, warning 3, info 2, resolved 1);
resolved and acknowledged notifications are informational (2), tests default (3).
"""

from __future__ import annotations

import base64

import httpx

from domain.severity import Severity
from gateways.notify.content import link, text_body, title
from gateways.notify.http_post import HTTP_TIMEOUT, post
from gateways.notify.sending import DeliveryResult, Notification, NotificationKind
from gateways.notify.targets import NtfyTarget

# ntfy turns longer messages into attachments; stay below its 4096-byte limit.
MESSAGE_LIMIT_BYTES = 4000
SEVERITY_PRIORITY = {
    Severity.PANIC: 5,
    Severity.ERROR: 4,
    Severity.WARNING: 3,
    Severity.INFO: 2,
    Severity.RESOLVED: 1,
}
KIND_PRIORITY = {
    NotificationKind.RESOLVED: 2,
    NotificationKind.ACKNOWLEDGED: 2,
    NotificationKind.TEST: 3,
}
# Emoji short codes ntfy renders in front of the title.
KIND_TAG = {
    NotificationKind.OPENED: "rotating_light",
    NotificationKind.ESCALATED: "arrow_double_up",
    NotificationKind.ACKNOWLEDGED: "eyes",
    NotificationKind.UNACKNOWLEDGED: "bell",
    NotificationKind.RESOLVED: "white_check_mark",
    NotificationKind.REMINDED: "alarm_clock",
    NotificationKind.TEST: "test_tube",
}


def priority(notification: Notification) -> int:
    fixed = KIND_PRIORITY.get(notification.kind)
    return fixed if fixed is not None else SEVERITY_PRIORITY[notification.event.issue.severity]


def ntfy_headers(target: NtfyTarget, notification: Notification) -> dict[str, str]:
    tags = [KIND_TAG[notification.kind], notification.event.issue.severity.value]
    headers = {
        "Title": header_text(title(notification)),
        "Priority": str(priority(notification)),
        "Tags": ",".join(tags),
        "Content-Type": "text/plain; charset=utf-8",
    }
    click = link(notification)
    if click:
        headers["Click"] = header_text(click)
    if target.token is not None:
        headers["Authorization"] = f"Bearer {target.token.get_secret_value()}"
    return headers


def ntfy_message(notification: Notification) -> bytes:
    body = text_body(notification).encode()
    if len(body) <= MESSAGE_LIMIT_BYTES:
        return body
    return body[: MESSAGE_LIMIT_BYTES - 3].decode(errors="ignore").encode() + "…".encode()


def header_text(value: str) -> str:
    """`value` as is when ASCII, else as RFC 2047 encoded words (each under 76 characters)."""
    if value.isascii():
        return value
    words, chunk = [], ""
    for char in value:
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return " ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def topic_url(target: NtfyTarget) -> str:
    return f"{target.server.rstrip('/')}/{target.topic}"


class NtfySender:
    def __init__(
        self, target: NtfyTarget, *, http: httpx.AsyncClient, timeout: float = HTTP_TIMEOUT
    ) -> None:
        self._target = target
        self._http = http
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"NtfySender({self._target!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        token = self._target.token
        return await post(
            self._http,
            topic_url(self._target),
            content=ntfy_message(notification),
            headers=ntfy_headers(self._target, notification),
            secrets=[token.get_secret_value()] if token else [],
            timeout=self._timeout,
        )
