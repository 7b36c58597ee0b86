"""How long an issue waits before each of its deadlines: Slack Manager's rules, from an alert.

Slack Manager takes these settings from the issue's latest alert, so a client can change an
issue's auto-resolve time or escalation by sending the next alert with new values; alertfold
does the same. The policy is read from the alert JSON kept in the issue's state (camelCase keys,
already validated when the alert was accepted), so the deadlines of a stored issue can be
computed without re-validating anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from domain.alert_limits import DEFAULT_AUTO_RESOLVE_SECONDS
from domain.member_alerts import is_member_alert
from domain.severity import Severity

# Fire-and-forget issues (follow-up off, or info alerts) are shown and grouped, never tracked
# to resolution, and archived this long after their last alert.
FIRE_AND_FORGET_ARCHIVE_DELAY = timedelta(seconds=30)
# `archivingDelaySeconds` 0 means Slack Manager's default: a resolved issue stays reopenable
# for twelve hours.
DEFAULT_ARCHIVING_DELAY = timedelta(hours=12)


@dataclass(frozen=True)
class EscalationStep:
    """One escalation point: once the issue is `delay` old and still open, it escalates."""

    delay: timedelta
    severity: Severity
    mentions: tuple[str, ...]
    move_to_channel: str


@dataclass(frozen=True)
class IssuePolicy:
    follow_up: bool
    # Whether the issue follows member alerts (from Alertmanager), which say when they resolve.
    tracks_members: bool
    severity: Severity
    auto_resolve_after: timedelta
    resolve_as_inconclusive: bool
    archive_after: timedelta
    notification_delay: timedelta
    escalation: tuple[EscalationStep, ...]

    @classmethod
    def of(cls, alert: dict[str, Any]) -> IssuePolicy:
        """The policy an issue follows while `alert` (camelCase JSON) is its latest alert.

        Asked several times for the same alert while one input is folded (its deadlines,
        its hold, its escalation): the latest answer is kept for that very alert object.
        """
        latest = _LATEST[0]
        if latest is not None and latest[0] is alert:
            return latest[1]
        policy = cls._read(alert)
        _LATEST[0] = (alert, policy)
        return policy

    @classmethod
    def _read(cls, alert: dict[str, Any]) -> IssuePolicy:
        severity = Severity(alert.get("severity") or Severity.ERROR)
        archiving_seconds = int(alert.get("archivingDelaySeconds") or 0)
        return cls(
            follow_up=bool(alert.get("issueFollowUpEnabled")),
            tracks_members=is_member_alert(alert),
            severity=severity,
            auto_resolve_after=timedelta(
                seconds=int(alert.get("autoResolveSeconds") or DEFAULT_AUTO_RESOLVE_SECONDS)
            ),
            resolve_as_inconclusive=bool(alert.get("autoResolveAsInconclusive")),
            archive_after=(
                timedelta(seconds=archiving_seconds)
                if archiving_seconds
                else DEFAULT_ARCHIVING_DELAY
            ),
            notification_delay=timedelta(seconds=int(alert.get("notificationDelaySeconds") or 0)),
            escalation=tuple(_step(point) for point in alert.get("escalation") or ()),
        )

    @property
    def fire_and_forget(self) -> bool:
        """No resolve tracking: follow-up is off, or the alert is only informational. An
        informational member alert is still tracked: Alertmanager says when it resolves."""
        if not self.follow_up:
            return True
        return self.severity is Severity.INFO and not self.tracks_members


# (alert, its policy): the alert is held, so its identity cannot pass to another object.
_LATEST: list[tuple[dict[str, Any], IssuePolicy] | None] = [None]


def _step(point: dict[str, Any]) -> EscalationStep:
    return EscalationStep(
        delay=timedelta(seconds=int(point["delaySeconds"])),
        severity=Severity(point["severity"]),
        mentions=tuple(point.get("slackMentions") or ()),
        move_to_channel=str(point.get("moveToChannel") or ""),
    )
