"""The stored form of an `Issue`: what the fold keeps per (channel, correlation id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.records import IssueStatus, Resolution
from domain.severity import Severity


class IssueState(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    version: int
    channel_id: str
    correlation_id: str
    status: IssueStatus
    severity: Severity
    alert_count: int
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    last_alert_at: datetime
    last_alert: dict[str, Any]
    resolution: Resolution | None = None
    archived_at: datetime | None = None
    escalation_level: int = 0
    mentions: tuple[str, ...] = ()
    held_until: datetime | None = None
    presentable: bool = True
    slack_ts: str | None = None
    acknowledged_by: dict[str, Any] | None = None
    acknowledged_at: datetime | None = None
    investigated_by: dict[str, Any] | None = None
    muted_by: dict[str, Any] | None = None
    resolved_by: dict[str, Any] | None = None
    recent_interactions: tuple[str, ...] = ()
    silenced_until: datetime | None = None
    silence_id: str | None = None
    silence_starts_at: datetime | None = None
