"""The contract between the notification pipeline and the senders of each channel kind.

A sender makes exactly one attempt and reports what happened as a `DeliveryResult` instead of
raising: the pipeline records every attempt in its delivery log and `retrying.deliver`
decides, from `retryable` and `retry_after`, whether and when to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx

from domain.records import IssueEventRecord
from gateways.notify.targets import (
    EmailTarget,
    NtfyTarget,
    PagerDutyTarget,
    Target,
    WebhookTarget,
)


class NotificationKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"
    TEST = "test"


@dataclass(frozen=True)
class Notification:
    kind: NotificationKind
    event: IssueEventRecord  # event.issue is the issue right after the event
    # Deterministic (event id + channel id): the same on every retry and after a restart,
    # so receivers can drop duplicates.
    delivery_id: str
    public_url: str = ""  # base URL of alertfold's API, for links; may be empty


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status_code: int | None  # HTTP status, or SMTP reply code; None when nothing answered
    error: str  # empty when ok; never contains a secret or a URL path
    retryable: bool
    retry_after: float | None  # seconds the receiver asked us to wait, if it said
    latency_ms: float


class Sender(Protocol):
    async def send(self, notification: Notification) -> DeliveryResult:
        """One attempt, bounded by the sender's own timeout; never raises."""
        ...


def sender_for(target: Target, *, http: httpx.AsyncClient) -> Sender:
    """The sender for a channel's target; HTTP senders share the pipeline's client."""
    # Imported here: the sender modules import this one for the types above.
    from gateways.notify.email import EmailSender
    from gateways.notify.ntfy import NtfySender
    from gateways.notify.pagerduty import PagerDutySender
    from gateways.notify.webhook import WebhookSender

    match target:
        case WebhookTarget():
            return WebhookSender(target, http=http)
        case NtfyTarget():
            return NtfySender(target, http=http)
        case EmailTarget():
            return EmailSender(target)
        case PagerDutyTarget():
            return PagerDutySender(target, http=http)
    raise TypeError(f"no sender for {type(target).__name__}")  # pragma: no cover
