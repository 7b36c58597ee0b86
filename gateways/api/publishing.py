"""Storing what admission decided: the accepted alerts on `alerts`, and the alerts set aside
(Alertmanager's, taken one by one) on `alerts.dlq` with their reasons, in one batch.

Nothing is reported stored before the broker acknowledged all of it: with Kafka away the
caller answers 503 and the sender tries again. A notification that says Alertmanager left
alerts out (`truncatedAlerts`) is logged and counted here, where it arrives.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass

from fastapi import Request

from domain.alertmanager import RejectedAlert
from domain.errors import summarise
from domain.intake import Admission
from gateways.alert_publisher import BrokerUnavailable, Outgoing
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.metrics import ApiMetrics
from gateways.api.read_marks import after_text
from gateways.api.webhook_seals import sealed_webhooks
from wire.alerts import encode_alert
from wire.dead_letters import AlertSetAside

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    """What a request left in the log."""

    accepted: int
    ignored: int
    set_aside: list[RejectedAlert]
    positions: list[tuple[int, int]]  # where each accepted alert went: (partition, offset)

    @property
    def nothing(self) -> bool:
        return not self.accepted and not self.set_aside

    def placed_view(self) -> dict[str, object]:
        """Where each accepted alert went, in order, and the mark to read the views after them
        (`gateways.api.read_marks`)."""
        highest: dict[int, int] = {}
        for partition, offset in self.positions:
            highest[partition] = max(highest.get(partition, offset), offset)
        return {
            "positions": [{"partition": p, "offset": o} for p, o in self.positions],
            "after": after_text(highest),
        }

    def set_aside_view(self) -> list[dict[str, object]]:
        """The alerts set aside, as the answer names them: place, fingerprint, why."""
        return [
            {
                "index": rejected.index,
                "fingerprint": _fingerprint(rejected.sent),
                "error": summarise(rejected.problems),
                "problems": rejected.problems,
            }
            for rejected in self.set_aside
        ]


def request_name(request: Request) -> str:
    """How a dead letter names the request its alert came in: method and path."""
    return f"{request.method} {request.url.path}"


async def store_admission(
    deps: ApiDependencies, metrics: ApiMetrics, admission: Admission, *, request: str
) -> Stored:
    """Publish the admitted alerts and dead-letter the rejected ones; `request` names the
    request in the dead letters (`request_name`)."""
    metrics.alerts("ignored", admission.ignored)
    _note_truncation(metrics, admission)
    accepted = sealed_webhooks(deps.webhook_sealer, admission.accepted)
    per_channel = Counter(a.slack_channel_id or "" for a in accepted)
    _take_tokens(deps, metrics, per_channel)
    received_at = deps.clock()
    records = [
        Outgoing(
            deps.publisher.topic,
            (alert.slack_channel_id or "").encode(),
            encode_alert(alert, received_at),
        )
        for alert in accepted
    ]
    for rejected in admission.rejected:
        letter = AlertSetAside(
            reason=summarise(rejected.problems),
            problems=rejected.problems,
            request=request,
            index=rejected.index,
            received_at=received_at,
            value=json.dumps(rejected.sent, ensure_ascii=False).encode(),
        )
        records.append(Outgoing(deps.alerts_dlq_topic, None, letter.to_json(), letter.headers()))
    try:
        placed = await deps.publisher.publish_records(records) if records else []
    except BrokerUnavailable:
        if deps.rate_limiter is not None:
            deps.rate_limiter.give_back(per_channel)  # nothing was accepted
        raise
    metrics.alerts("accepted", len(accepted))
    metrics.alerts("dead_lettered", len(admission.rejected))
    return Stored(len(accepted), admission.ignored, admission.rejected, placed[: len(accepted)])


def _note_truncation(metrics: ApiMetrics, admission: Admission) -> None:
    if admission.truncated_alerts:
        metrics.truncated(admission.truncated_alerts)
        log.warning(
            "Alertmanager left %d alert(s) out of a notification of group %s (max_alerts of "
            "its receiver); the group's issues record it",
            admission.truncated_alerts,
            admission.group_key or "(no group key)",
        )


def _take_tokens(deps: ApiDependencies, metrics: ApiMetrics, per_channel: Counter[str]) -> None:
    """Refuse the whole request, before anything is published, when a channel is over its rate."""
    if deps.rate_limiter is None:
        return
    refused = deps.rate_limiter.take(per_channel)
    if refused is not None:
        metrics.alerts("rate_limited", sum(per_channel.values()))
        raise ApiError(429, refused.message, headers=refused.headers())


def _fingerprint(sent: object) -> str | None:
    if isinstance(sent, dict) and isinstance(sent.get("fingerprint"), str):
        return str(sent["fingerprint"]) or None
    return None
