"""An issue's fields, defined once: what everyone sees of it, and what only the fold keeps.

`IssueFields` are the public ones. `IssueSnapshot` adds the header and text its latest alert
gives it: the issue as written on `issue-events` after each event, for read models,
presenters and notifiers. `IssueState` adds what only the fold needs to decide the next
event; it is what the fold stores per (channel, correlation id) and hands over when an issue
moves. The `Issue` aggregate keeps an `IssueState` of its own and changes it in place.

Field order is wire order: both models are written as JSON in the order their fields are
declared (base classes first), and `alertfold verify` compares re-folded events with logged
ones byte for byte, so a field is never moved, only added at the end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.member_alerts import MemberAlert
from domain.severity import Severity
from domain.unvalidated import field_names, made_of

IssueStatus = Literal["open", "resolved", "archived"]
# How an issue got resolved: by a `resolved` alert, by its auto-resolve deadline (which
# counts as inconclusive when the alert asked for it with `autoResolveAsInconclusive`), or
# by a person.
Resolution = Literal["alert", "auto", "inconclusive", "manual"]


class Notified:
    """Marks the fields notifications carry about an issue (the webhook document's `issue`):
    part of that documented contract, so such a field is never renamed or dropped."""


NOTIFIED: Final = Notified()


class IssueSummary(BaseModel):
    """Which issue, and how it stands: the fields every form of an issue starts with."""

    model_config = ConfigDict(frozen=True)

    id: Annotated[str, NOTIFIED]
    channel_id: Annotated[str, NOTIFIED]
    correlation_id: Annotated[str, NOTIFIED]
    status: Annotated[IssueStatus, NOTIFIED]
    severity: Annotated[Severity, NOTIFIED]
    alert_count: Annotated[int, NOTIFIED]


class IssueFields(IssueSummary):
    """Everything consumers see of an issue, but the words its latest alert gives it."""

    opened_at: Annotated[datetime, NOTIFIED]
    updated_at: Annotated[datetime, NOTIFIED]
    resolved_at: Annotated[datetime | None, NOTIFIED] = None
    resolution: Resolution | None = None
    archived_at: datetime | None = None
    # How many of the latest alert's escalation points have been applied.
    escalation_level: int = 0
    mentions: list[str] = Field(
        default_factory=list, description="Mentions of the escalation point last applied."
    )
    slack_ts: str | None = None  # the issue's Slack message, once posted
    # Who acted, as {kind, id, name}: acknowledged, investigates, muted, resolved by hand.
    acknowledged_by: Annotated[dict[str, Any] | None, NOTIFIED] = None
    acknowledged_at: datetime | None = None
    investigated_by: dict[str, Any] | None = None
    muted_by: dict[str, Any] | None = None
    resolved_by: dict[str, Any] | None = None
    # False while the issue waits out its notification delay, and for good when it was
    # resolved before the delay passed: presenters show nothing then.
    presentable: bool = True
    # Set while a silence covers the issue: notifiers stay quiet, Slack says until when.
    silenced_until: Annotated[datetime | None, NOTIFIED] = None
    silence_id: str | None = None
    last_alert: dict[str, Any] = Field(
        description="The latest alert of the issue, as Slack Manager alert JSON (camelCase)."
    )
    members: list[MemberAlert] = Field(
        default_factory=list,
        description="The issue's alerts from Alertmanager, one per fingerprint (see "
        "`domain.member_alerts`): the issue is open while one fires.",
    )
    truncated_alerts: int = Field(
        default=0,
        description="How many alerts Alertmanager left out (`truncatedAlerts`) of the latest "
        "notification of the issue's group.",
    )


class IssueWording(IssueSummary):
    """The issue's header and text: its latest alert's, or their resolved variants."""

    header: Annotated[str, NOTIFIED]
    text: Annotated[str, NOTIFIED]


class IssueSnapshot(IssueFields, IssueWording):
    """An issue's state right after an event: what read models and presenters need.

    `IssueWording` comes second among the bases so that, by Python's method resolution
    order, header and text follow the summary on the wire, where they have always been.
    """

    @classmethod
    def of(cls, issue: IssueFields) -> IssueSnapshot:
        """The snapshot of an issue: its public fields, worded as its status asks."""
        resolved = issue.status == "resolved"
        alert = issue.last_alert
        header = (resolved and alert.get("headerWhenResolved")) or alert.get("header") or ""
        text = (resolved and alert.get("textWhenResolved")) or alert.get("text") or ""
        public = {name: getattr(issue, name) for name in field_names(IssueFields)}
        return made_of(cls, {**public, "header": header, "text": text})


class IssueState(IssueFields):
    """The stored form of an issue: its public fields and what only the fold needs."""

    version: int
    last_alert_at: datetime  # when the latest alert happened: older ones are stale news
    held_until: datetime | None = None  # the end of the notification delay, while it runs
    recent_interactions: tuple[str, ...] = ()  # ids, to recognise a retried delivery
    silence_starts_at: datetime | None = None  # when a silence set for later starts
    # Taken from the partition's alerting settings when the issue opened (`domain.alerting`).
    reminder_interval_seconds: int | None = None
    deduplication_window_seconds: int | None = None
    # Since when the issue waits for its next reminder (`domain.issue_reminders`).
    unattended_since: datetime | None = None
