"""A trial notification: what `POST /notification-channels/{id}/test` sends.

It goes through the channel's real sender, once, so it proves the whole path (address,
credentials, TLS, the receiver's parsing) and nothing is retried or logged as a delivery.
The event it carries is made up but valid, of type `NotificationTest`, so receivers that
dispatch on the event type can recognise and ignore it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from domain.issue_state import IssueSnapshot
from domain.records import InputPosition, IssueEventRecord
from domain.severity import Severity
from gateways.notify.channels import NotificationChannel
from gateways.notify.sending import Notification, NotificationKind

TRIAL_EVENT_TYPE = "NotificationTest"


def trial_notification(channel: NotificationChannel, at: datetime, public_url: str) -> Notification:
    trial_id = f"test-{uuid.uuid4().hex}"
    slack_channel = channel.rule.slack_channels[0] if channel.rule.slack_channels else "C-TEST"
    issue = IssueSnapshot(
        id=trial_id,
        channel_id=slack_channel,
        correlation_id=trial_id,
        status="open",
        severity=Severity.INFO,
        alert_count=1,
        header="alertfold test notification",
        text=f"If you can read this, notification channel {channel.name!r} works.",
        opened_at=at,
        updated_at=at,
        last_alert={},
    )
    event = IssueEventRecord(
        type=TRIAL_EVENT_TYPE,
        event_id=trial_id,
        issue_id=trial_id,
        version=1,
        channel_id=slack_channel,
        correlation_id=trial_id,
        occurred_at=at,
        cause=InputPosition(topic="", partition=0, offset=0),
        issue=issue,
    )
    return Notification(
        kind=NotificationKind.TEST, event=event, delivery_id=trial_id, public_url=public_url
    )
