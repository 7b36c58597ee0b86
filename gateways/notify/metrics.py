"""The notifier's metrics (README "Metrics"), by notification channel: a channel is one of the
few the installation configured, so the label stays bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS = Counter(
    "alertfold_notifications_total",
    "Notifications finished, by channel and outcome: delivered, failed (after its last "
    "attempt) or dropped (the channel was disabled or deleted meanwhile).",
    ["channel", "outcome"],
)
RETRIES = Counter(
    "alertfold_notification_retries_total",
    "Attempts after a notification's first, by channel.",
    ["channel"],
)
DEAD_LETTERS = Counter(
    "alertfold_notification_dead_letters_total",
    "Failed notifications written to notifications.dlq, by channel.",
    ["channel"],
)
ATTEMPT_SECONDS = Histogram(
    "alertfold_notification_attempt_duration_seconds",
    "Time one delivery attempt took, by the channel's kind (webhook, ntfy, email, pagerduty).",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WAITING = Gauge(
    "alertfold_notification_queue_depth",
    "Notifications waiting in a channel's lane to be sent.",
    ["channel"],
)
