"""PagerDuty webhook events (v3) read as acts on alertfold issues: pure, no I/O.

alertfold's PagerDuty sender uses the issue id as the alert's `dedup_key`, which PagerDuty
shows as the incident's `incident_key`; so an incident acknowledged, unacknowledged or
resolved in PagerDuty names the issue to act on. Other event types (triggered, escalated,
annotated, …) are PagerDuty's own business and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.interactions import Actor, Interaction, InteractionKind

KINDS = {
    "incident.acknowledged": InteractionKind.ACKNOWLEDGED,
    "incident.unacknowledged": InteractionKind.UNACKNOWLEDGED,
    "incident.resolved": InteractionKind.RESOLVED,
}
_NAME_MAX = 200


class NotAnEvent(ValueError):
    """The body is not a PagerDuty webhook event; the message says what is missing."""


@dataclass(frozen=True)
class PagerDutyAct:
    """An incident change that acts on the issue named by `incident_key`."""

    kind: InteractionKind
    incident_key: str
    actor: Actor
    at: datetime
    event_id: str

    def interaction(self, issue: dict[str, Any], webhook_id: str | None) -> Interaction:
        """The interaction for `issue` (from the view); PagerDuty's retries keep
        `X-Webhook-Id`, so they make the same interaction id and fold once."""
        delivery = webhook_id or f"event/{self.event_id}"
        return Interaction(
            interaction_id=f"pagerduty:{delivery}"[:300],
            kind=self.kind,
            channel_id=issue["channel_id"],
            correlation_id=issue["correlation_id"],
            issue_id=issue["id"],
            at=self.at,
            actor=self.actor,
        )


@dataclass(frozen=True)
class Ignored:
    reason: str


def read_event(body: Any) -> PagerDutyAct | Ignored:
    """What one webhook body asks of alertfold, or why it asks nothing."""
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict):
        raise NotAnEvent('expected a PagerDuty webhook body {"event": {…}}')
    event_type = str(event.get("event_type") or "")
    kind = KINDS.get(event_type)
    if kind is None:
        return Ignored(f"event type {event_type or '(none)'} does not change an issue")
    data = event.get("data")
    key = data.get("incident_key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        return Ignored("the incident has no incident_key, so it names no alertfold issue")
    return PagerDutyAct(
        kind=kind,
        incident_key=key,
        actor=_actor(event.get("agent")),
        at=_occurred_at(event.get("occurred_at")),
        event_id=str(event.get("id") or ""),
    )


def looks_like_an_issue_id(key: str) -> bool:
    """alertfold's issue ids are version-5 UUIDs, which other integrations rarely use: such
    a key missing from the view is more likely a view that lags than someone else's alert."""
    try:
        return UUID(key).version == 5
    except ValueError:
        return False


def _actor(agent: Any) -> Actor:
    if not isinstance(agent, dict) or not agent.get("id"):
        return Actor(kind="pagerduty", id="pagerduty")
    return Actor(
        kind="pagerduty",
        id=str(agent["id"])[:_NAME_MAX],
        name=str(agent.get("summary") or "")[:_NAME_MAX],
    )


def _occurred_at(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise NotAnEvent(f"event.occurred_at is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise NotAnEvent("event.occurred_at has no time zone")
    return moment
