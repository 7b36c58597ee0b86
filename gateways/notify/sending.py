"""The contract between the notification pipeline and the senders of each channel kind.

A sender makes exactly one attempt and reports what happened as a `DeliveryResult` instead of
raising: the pipeline records every attempt in its delivery log and `retrying.deliver`
decides, from `retryable` and `retry_after`, whether and when to try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.records import IssueEventRecord


class NotificationKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"
    REMINDED = "reminded"
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
