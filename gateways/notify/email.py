"""E-mail channel: one multipart/alternative message (plain text and HTML) per notification,
sent with the standard library's `smtplib` in a worker thread.

Threading: every message of an issue says `In-Reply-To` and `References`
`<issue-<issue id>@alertfold>`, so mail clients show an issue's updates as one conversation;
its own `Message-ID` is derived from the event (a test's from its delivery id), so a retried
delivery carries the same id and mail systems can drop the duplicate.

SMTP says itself what is worth retrying: 4xx replies are temporary, 5xx permanent. Connection
failures and timeouts are retried; TLS certificate and login failures are not.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import format_datetime

from gateways.notify.content import html_body, text_body, title
from gateways.notify.http_post import elapsed_ms, scrub
from gateways.notify.sending import DeliveryResult, Notification, NotificationKind
from gateways.notify.targets import EmailTarget

SMTP_TIMEOUT = 10.0
SUBJECT_PREFIX = "[alertfold]"
MESSAGE_ID_DOMAIN = "alertfold"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def thread_id(issue_id: str) -> str:
    """The id every message of one issue refers to."""
    return f"<issue-{_id_part(issue_id)}@{MESSAGE_ID_DOMAIN}>"


def message_id(notification: Notification) -> str:
    """Stable per event (so per issue and event): a retry or a re-delivery repeats it."""
    # Event ids are unique across issues (derived from the issue id and version), and short
    # enough that the header is not folded.
    if notification.kind is NotificationKind.TEST:  # tests may share a made-up event
        return f"<test-{_id_part(notification.delivery_id)}@{MESSAGE_ID_DOMAIN}>"
    return f"<event-{_id_part(notification.event.event_id)}@{MESSAGE_ID_DOMAIN}>"


def subject(notification: Notification) -> str:
    return f"{SUBJECT_PREFIX} {title(notification)}"


def email_message(target: EmailTarget, notification: Notification) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(notification)
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message["Date"] = format_datetime(notification.event.occurred_at)
    message["Message-ID"] = message_id(notification)
    message["In-Reply-To"] = thread_id(notification.event.issue_id)
    message["References"] = thread_id(notification.event.issue_id)
    message["X-Alertfold-Delivery"] = notification.delivery_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body(notification))
    message.add_alternative(html_body(notification), subtype="html")
    return message


class EmailSender:
    """`tls_context` is for servers with a private CA; by default the system's trust store."""

    def __init__(
        self,
        target: EmailTarget,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = SMTP_TIMEOUT,
    ) -> None:
        self._target = target
        self._tls_context = tls_context
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"EmailSender({self._target!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        started = time.perf_counter()
        message = email_message(self._target, notification)
        try:
            code = await asyncio.to_thread(self._send_now, message)
        except Exception as error:  # every failure becomes a result
            reply, reason, retryable = _classified(error)
            password = self._target.password
            reason = scrub(reason, [password.get_secret_value()] if password else [])
            error_text = f"smtp {self._target.host}:{self._target.port}: {reason}"
            return DeliveryResult(False, reply, error_text, retryable, None, elapsed_ms(started))
        return DeliveryResult(True, code, "", False, None, elapsed_ms(started))

    def _send_now(self, message: EmailMessage) -> int:
        target = self._target
        context = self._tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if target.security == "tls":
            smtp = smtplib.SMTP_SSL(
                target.host, target.port, timeout=self._timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=self._timeout)
        with smtp:
            if target.security == "starttls":
                smtp.starttls(context=context)
            if target.username:
                password = target.password.get_secret_value() if target.password else ""
                smtp.login(target.username, password)
            refused = smtp.send_message(message)
        if refused:  # some recipients took it, some did not: report the first refusal
            address, (code, reply) = next(iter(refused.items()))
            raise smtplib.SMTPRecipientsRefused({address: (code, reply)})
        return 250


def _classified(error: Exception) -> tuple[int | None, str, bool]:
    """SMTP code (if any), a reason without secrets, and whether to try again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        replies = "; ".join(
            f"{address} {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
        return codes[0], f"recipients refused: {replies}", all(400 <= c < 500 for c in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        what = "login refused" if isinstance(error, smtplib.SMTPAuthenticationError) else "refused"
        return code, f"{what}: {code} {_text(error.smtp_error)}", 400 <= code < 500
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return None, f"server does not support it: {error}", False
    if isinstance(error, ssl.SSLCertVerificationError):
        return None, f"TLS certificate not trusted: {error.verify_message}", False
    if isinstance(error, TimeoutError):
        return None, "timed out waiting for the server", True
    if isinstance(error, (smtplib.SMTPServerDisconnected, OSError)):
        return None, f"connection failed: {error or type(error).__name__}", True
    return None, f"{type(error).__name__}: {error}", False


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _id_part(value: str) -> str:
    """`value` if it can stand in a Message-ID as is, else a digest of it."""
    if value and not _ID_UNSAFE.search(value) and len(value) <= 100:
        return value
    return hashlib.sha256(value.encode()).hexdigest()[:40]
