"""Interactions: what people (and alertfold's own presenter) did to an issue, as inputs.

They arrive on the `interactions` topic, keyed by channel like alerts, so they are folded in
order with the channel's alerts and ticks. Each names the issue it is about and who acted;
`interaction_id` identifies the act itself (a Slack envelope, a webhook delivery), so an act
delivered twice is folded once. `correlation_id` finds the issue's state the way an alert
does; `issue_id` makes sure it is still the same issue (not a newer one opened after an
archive), otherwise the interaction is ignored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class InteractionKind(StrEnum):
    # The presenter posted (or found) the issue's Slack message: its timestamp id.
    MESSAGE_POSTED = "message_posted"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    INVESTIGATING = "investigating"
    NOT_INVESTIGATING = "not_investigating"
    MUTED = "muted"
    UNMUTED = "unmuted"
    TERMINATED = "terminated"
    # Moved to `target_channel_id` (by a person, or by an escalation point).
    MOVED = "moved"
    # Someone pressed one of the alert's webhook buttons; `webhook` says how the call went.
    WEBHOOK_CALLED = "webhook_called"


class Actor(BaseModel):
    """Who acted: a Slack user, or a part of alertfold (`kind` "alertfold", `id` the part)."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(pattern=r"^(slack_user|alertfold|pagerduty|api)$")
    id: str = Field(min_length=1, max_length=200)
    name: Annotated[str, Field(max_length=200)] = ""


class WebhookResult(BaseModel):
    """How a webhook call went; never its URL or payload, which stay sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhook_id: str = Field(min_length=1, max_length=100)
    ok: bool
    status_code: int | None = None
    error: Annotated[str, Field(max_length=500)] = ""


class Interaction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interaction_id: str = Field(min_length=1, max_length=300)
    kind: InteractionKind
    channel_id: str = Field(min_length=1, max_length=80)
    correlation_id: str = Field(min_length=1, max_length=500)
    issue_id: str = Field(min_length=1, max_length=100)
    at: datetime
    actor: Actor
    slack_ts: Annotated[str | None, Field(pattern=r"^\d{1,12}\.\d{1,8}$")] = None
    reason: Annotated[str, Field(max_length=3000)] = ""
    target_channel_id: Annotated[str | None, Field(pattern=r"^[A-Z0-9]{1,80}$")] = None
    webhook: WebhookResult | None = None
