"""The `notifications.dlq` value carries every field the README documents, and the event."""

from __future__ import annotations

import json
from datetime import timedelta

from harness.stories import BASE_TIME, IssueStory
from wire.notification_dead_letters import NOTIFICATION_UNDELIVERED, UndeliveredNotification


def test_an_undelivered_notification_names_the_channel_the_reason_and_the_event() -> None:
    opened = IssueStory("i-1", "C-OPS").opened()
    letter = UndeliveredNotification(
        channel_id="hook",
        kind="opened",
        delivery_id="d-1",
        attempts=3,
        reason="status 503",
        status_code=503,
        retryable=True,
        failed_at=BASE_TIME + timedelta(seconds=5),
        event=opened,
    )

    body = json.loads(letter.to_json())

    assert body == {
        "type": NOTIFICATION_UNDELIVERED,
        "schema_version": 1,
        "channel_id": "hook",
        "kind": "opened",
        "delivery_id": "d-1",
        "attempts": 3,
        "reason": "status 503",
        "status_code": 503,
        "retryable": True,
        "failed_at": "2024-05-01T12:00:05+00:00",
        "event": opened.model_dump(mode="json"),
    }
    assert letter.key == b"C-OPS"  # the issue's channel, like the event itself
