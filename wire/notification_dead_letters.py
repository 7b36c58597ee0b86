"""The `notifications.dlq` value: a notification given up after its last attempt, and why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from domain.records import IssueEventRecord

NOTIFICATION_UNDELIVERED = "NotificationUndelivered"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class UndeliveredNotification:
    """What goes to `notifications.dlq`, keyed by the issue's Slack channel like the event."""

    channel_id: str  # the notification channel
    kind: str
    delivery_id: str
    attempts: int
    reason: str
    status_code: int | None
    retryable: bool
    failed_at: datetime
    event: IssueEventRecord

    @property
    def key(self) -> bytes:
        return self.event.channel_id.encode()

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "type": NOTIFICATION_UNDELIVERED,
                "schema_version": SCHEMA_VERSION,
                "channel_id": self.channel_id,
                "kind": self.kind,
                "delivery_id": self.delivery_id,
                "attempts": self.attempts,
                "reason": self.reason,
                "status_code": self.status_code,
                "retryable": self.retryable,
                "failed_at": self.failed_at.isoformat(),
                "event": self.event.model_dump(mode="json"),
            }
        ).encode()
