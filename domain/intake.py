"""Admission: which alerts of a request alertfold takes, before anything is stored.

The API accepts Slack Manager's three body shapes (one alert, a JSON array, or
`{"alerts": [...]}`). Such a request is taken whole or not at all: one invalid alert rejects
the request with every problem listed, so a client never has to guess which half was stored.

Alertmanager cannot be told which half: it retries a refused notification, whole, for as long
as its alerts live. So its alerts (a webhook's, or those posted to its API) are admitted one by
one: the valid ones are taken, and the others are `rejected`, each with its problems, for the
API to dead-letter and name in its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.alert import Alert
from domain.alert_text import json_type_name
from domain.alertmanager import AlertmanagerBatch, RejectedAlert
from domain.alertmanager_postable import read_postable_alerts
from domain.alertmanager_webhook import read_alertmanager_webhook
from domain.channel import channel_for
from domain.errors import AlertRejected, DomainError, problem
from domain.routing import RouteTable


@dataclass(frozen=True)
class Admission:
    accepted: list[Alert]
    ignored: int
    # Alertmanager alerts only: those not taken, and what their notification said.
    rejected: list[RejectedAlert] = field(default_factory=list)
    group_key: str = ""
    truncated_alerts: int = 0


def admit_alerts(
    body: Any, *, routes: RouteTable, now: datetime, path_channel: str | None = None
) -> Admission:
    """Validate, route and stamp the alerts of a Slack Manager style request body."""
    items = alert_items(body)
    many = isinstance(body, list) or (isinstance(body, dict) and body.get("alerts") is not None)
    alerts: list[Alert] = []
    problems: list[dict[str, str]] = []
    for index, item in enumerate(items):
        try:
            alerts.append(Alert.from_json_obj(item))
        except AlertRejected as error:
            problems.extend(_prefixed(_place(index, many), error.problems))
    if problems:
        raise AlertRejected(_summary(problems), problems)
    return _route_and_stamp(alerts, routes, now, path_channel, many)


def admit_alertmanager(
    payload: Any, *, routes: RouteTable, now: datetime, path_channel: str | None = None
) -> Admission:
    """Admit the alerts of an Alertmanager webhook (version 4) one by one; `AlertRejected`
    only for a payload that is not such a webhook."""
    return _admit_batch(read_alertmanager_webhook(payload, path_channel), routes, now)


def admit_postable_alerts(
    body: Any, *, routes: RouteTable, now: datetime, path_channel: str | None = None
) -> Admission:
    """Admit alerts posted to Alertmanager's API (`POST /api/v2/alerts`) one by one."""
    return _admit_batch(read_postable_alerts(body, now, path_channel), routes, now)


def _admit_batch(batch: AlertmanagerBatch, routes: RouteTable, now: datetime) -> Admission:
    accepted: list[Alert] = []
    rejected = list(batch.rejected)
    ignored = 0
    for read in batch.alerts:
        try:
            alert = read.alert.routed_to(channel_for(read.alert, routes, None))
        except DomainError as error:
            problems = [problem(f"alerts.{read.index}.slackChannelId", str(error))]
            rejected.append(RejectedAlert(read.index, read.sent, problems))
            continue
        if alert.is_ignored():
            ignored += 1
        else:
            accepted.append(alert.stamped(now))
    rejected.sort(key=lambda r: r.index)
    return Admission(accepted, ignored, rejected, batch.group_key, batch.truncated_alerts)


def alert_items(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and body.get("alerts") is not None:
        # A malformed envelope must not be read as one alert: the alerts the client meant to
        # send would be dropped without a word.
        if not isinstance(body["alerts"], list):
            found = json_type_name(body["alerts"])
            problems = [{"field": "alerts", "message": f"must be a JSON array, got {found}"}]
            raise AlertRejected(_summary(problems), problems)
        return list(body["alerts"])
    if isinstance(body, dict):
        return [body]
    raise AlertRejected(
        'body must be an alert object, a JSON array of alerts or {"alerts": [...]}',
        [{"field": "", "message": f"got {json_type_name(body)}"}],
    )


def _route_and_stamp(
    alerts: list[Alert], routes: RouteTable, now: datetime, path_channel: str | None, many: bool
) -> Admission:
    accepted: list[Alert] = []
    problems: list[dict[str, str]] = []
    ignored = 0
    for index, alert in enumerate(alerts):
        try:
            channel = channel_for(alert, routes, path_channel)
        except DomainError as error:
            field = ".".join(filter(None, [_place(index, many), "slackChannelId"]))
            problems.append({"field": field, "message": str(error)})
            continue
        if alert.is_ignored():
            ignored += 1
            continue
        accepted.append(alert.routed_to(channel).stamped(now))
    if problems:
        raise AlertRejected(_summary(problems), problems)
    return Admission(accepted, ignored)


def _place(index: int, many: bool) -> str:
    return f"alerts.{index}" if many else ""


def _prefixed(prefix: str, problems: list[dict[str, str]]) -> list[dict[str, str]]:
    if not prefix:
        return problems
    return [
        {**p, "field": f"{prefix}.{p['field']}" if p.get("field") else prefix} for p in problems
    ]


def _summary(problems: list[dict[str, str]]) -> str:
    first = problems[0]
    where = f"{first['field']}: " if first.get("field") else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}{first['message']}{more}"
