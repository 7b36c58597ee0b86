"""Alerts posted to Alertmanager's API (`POST /api/v2/alerts`), so Prometheus can send
straight to alertfold.

Prometheus posts `{labels, annotations, startsAt, endsAt, generatorURL}` for every firing
alert at each evaluation, and once more with `endsAt` set when it resolves. Alertmanager
decides from those times whether an alert fires; this does the same, and then reads each as
a webhook's alert (`domain.alertmanager`), with Alertmanager's fingerprint of its labels, so
it joins its issue as a member alert. As in Alertmanager, labels with an empty value are
dropped, and an alert without labels is invalid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.alert_text import json_type_name, parse_rfc3339
from domain.alertmanager import AlertmanagerBatch, RejectedAlert, read_alertmanager_alerts
from domain.errors import AlertRejected, problem


def read_postable_alerts(
    body: Any, now: datetime, path_channel: str | None = None
) -> AlertmanagerBatch:
    """The alerts of a `POST /api/v2/alerts` body (a JSON array), received at `now`;
    `path_channel` as for a webhook."""
    if not isinstance(body, list):
        raise AlertRejected.single(
            "", f"must be a JSON array of alerts, got {json_type_name(body)}"
        )
    batch = read_alertmanager_alerts([_as_notified(item, now) for item in body], path_channel)
    unlabelled = {read.index for read in batch.alerts if not read.alert.metadata.get("labels")}
    if not unlabelled:
        return batch
    rejected = [
        RejectedAlert(index, body[index], [problem(f"alerts.{index}.labels", _NO_LABELS)])
        for index in sorted(unlabelled)
    ]
    return AlertmanagerBatch(
        [read for read in batch.alerts if read.index not in unlabelled],
        sorted([*batch.rejected, *rejected], key=lambda r: r.index),
    )


_NO_LABELS = "at least one label with a value is required"


def _as_notified(item: Any, now: datetime) -> Any:
    """The posted alert as a webhook would carry it: with a status, and a `startsAt`."""
    if not isinstance(item, dict):
        return item  # the reader says why not
    labels = item.get("labels")
    if isinstance(labels, dict):
        labels = {name: value for name, value in labels.items() if value != ""}
    starts_at = item.get("startsAt") or item.get("endsAt") or now.isoformat()
    return {**item, "labels": labels, "startsAt": starts_at, "status": _status(item, now)}


def _status(item: dict[str, Any], now: datetime) -> str:
    ends_at = item.get("endsAt")
    if not isinstance(ends_at, str) or not ends_at:
        return "firing"
    try:
        ended = parse_rfc3339(ends_at)
    except ValueError:
        return "firing"  # the reader rejects the alert for it
    return "resolved" if ended.year > 1 and ended <= now else "firing"
