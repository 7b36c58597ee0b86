"""An issue's member alerts: the distinct alerts an Alertmanager group folds into one issue.

Alertmanager re-sends every firing alert of a group at each flush, each with its original
`startsAt`, and reports a resolve only for the alert that resolved. Judged alert by alert,
newest first, that stream lies: an issue resolves while three of its four alerts fire, and
every re-send counts as a new alert. So an issue fed by Alertmanager keeps its members, one
per fingerprint, and its status, severity and count follow from them: it is open while a
member fires, its severity is the highest of the firing members, and it counts occurrences
(fingerprint and `startsAt`), not deliveries.

A member alert is an alert whose metadata names a fingerprint, as the Alertmanager mapping
(`domain.alertmanager`) writes it; every other alert is judged on its own, as in Slack
Manager. Everything here reads the alert JSON kept on the issue, so the fold and the events'
`apply` decide the same from the same record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.alert_text import parse_rfc3339
from domain.severity import Severity

MemberStatus = Literal["firing", "resolved"]
# Resolved members are kept to recognise late news about them; beyond this many the ones
# seen longest ago are forgotten, so an issue of a churning group stays bounded.
MAX_RESOLVED_MEMBERS = 100

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF
# What a member alert without a usable `startsAt` counts as: Go's zero time, as Alertmanager
# writes for "not set".
_NOT_SET = datetime(1, 1, 1, tzinfo=UTC)


class MemberAlert(BaseModel):
    """One alert of the issue, as its latest report left it; `last_seen` is when alertfold
    received that report."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    status: MemberStatus
    severity: Severity
    starts_at: datetime
    ends_at: datetime | None = None
    last_seen: datetime

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def as_alert(self, alert: Mapping[str, Any]) -> dict[str, Any]:
        """The issue's alert JSON as this member would have sent it, for silence matchers:
        the member's labels, annotations and severity in place of the latest alert's."""
        metadata = alert.get("metadata")
        return {
            **alert,
            "severity": self.severity.value,
            "metadata": {
                **(metadata if isinstance(metadata, dict) else {}),
                "labels": self.labels,
                "annotations": self.annotations,
            },
        }


@dataclass(frozen=True)
class MemberReport:
    """What one alert says about its member."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    status: MemberStatus
    severity: Severity
    starts_at: datetime
    ends_at: datetime | None
    truncated_alerts: int  # alerts Alertmanager left out of the notification it came in

    @classmethod
    def of(cls, alert: Mapping[str, Any]) -> MemberReport | None:
        """The report of a member alert (alert JSON, camelCase); None for any other alert."""
        return cls.read(alert.get("metadata"), alert.get("severity"))

    @classmethod
    def read(cls, metadata: object, severity: object) -> MemberReport | None:
        """The report from an alert's metadata and severity; None unless it names a
        fingerprint."""
        if not isinstance(metadata, dict) or not metadata.get("fingerprint"):
            return None
        resolved = str(metadata.get("status", "")).strip().lower() == "resolved"
        return cls(
            fingerprint=str(metadata["fingerprint"]),
            labels=_strings(metadata.get("labels")),
            annotations=_strings(metadata.get("annotations")),
            status="resolved" if resolved else "firing",
            severity=Severity(str(severity or Severity.ERROR)),
            starts_at=_time(metadata.get("startsAt")) or _NOT_SET,
            ends_at=_time(metadata.get("endsAt")) if resolved else None,
            truncated_alerts=_count(metadata.get("truncatedAlerts")),
        )


def is_member_alert(alert: Mapping[str, Any]) -> bool:
    """Whether the alert (JSON) reports on a member: its metadata names a fingerprint."""
    metadata = alert.get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("fingerprint"))


class MemberNews(StrEnum):
    """What a report tells about its member, against what the issue knows."""

    FIRED = "fired"  # a new member or occurrence firing, or a resolved member firing again
    RESENT = "resent"  # the same occurrence, still firing: a re-delivery
    RESOLVED = "resolved"  # a member that fired (or an unknown one) resolved
    REPEATED = "repeated"  # the same occurrence, resolved again
    STALE = "stale"  # about an older occurrence than the one the issue knows


def news_of(members: Sequence[MemberAlert], report: MemberReport, at: datetime) -> MemberNews:
    """`at`: when the report was received. Occurrences are ordered by `startsAt`, a time in
    the future counting as the time it was received (a sender's clock ahead of ours)."""
    known = _find(members, report.fingerprint)
    if known is not None and min(report.starts_at, at) < min(known.starts_at, known.last_seen):
        return MemberNews.STALE
    same = known is not None and known.starts_at == report.starts_at
    if report.status == "firing":
        return MemberNews.RESENT if same and known and known.firing else MemberNews.FIRED
    return MemberNews.REPEATED if same and known and not known.firing else MemberNews.RESOLVED


def is_new_occurrence(members: Sequence[MemberAlert], report: MemberReport) -> bool:
    """Whether the report is about an occurrence (fingerprint and `startsAt`) not yet counted."""
    known = _find(members, report.fingerprint)
    return known is None or known.starts_at != report.starts_at


def with_report(
    members: Sequence[MemberAlert], report: MemberReport, at: datetime
) -> list[MemberAlert]:
    """The members once the report, received at `at`, is taken in (in first-seen order)."""
    known = _find(members, report.fingerprint)
    severity = report.severity
    if report.status == "resolved":
        severity = known.severity if known is not None else Severity.RESOLVED
    member = MemberAlert(
        fingerprint=report.fingerprint,
        labels=report.labels,
        annotations=report.annotations,
        status=report.status,
        severity=severity,
        starts_at=report.starts_at,
        ends_at=report.ends_at,
        last_seen=at,
    )
    updated = [member if m.fingerprint == report.fingerprint else m for m in members]
    if known is None:
        updated.append(member)
    return _bounded(updated)


def firing_severity(members: Sequence[MemberAlert]) -> Severity | None:
    """The highest severity among the firing members (the first seen wins a tie)."""
    firing = [m.severity for m in members if m.firing]
    return max(firing, key=lambda severity: severity.priority) if firing else None


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over the sorted labels), for
    alerts that come without one, so an alert has the same identity in both systems."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in (*part.encode(), _SEPARATOR):
                value = ((value ^ byte) * _FNV_PRIME) % 2**64
    return f"{value:016x}"


def _find(members: Sequence[MemberAlert], fingerprint: str) -> MemberAlert | None:
    return next((m for m in members if m.fingerprint == fingerprint), None)


def _bounded(members: list[MemberAlert]) -> list[MemberAlert]:
    resolved = [m for m in members if not m.firing]
    if len(resolved) <= MAX_RESOLVED_MEMBERS:
        return members
    by_age = sorted(resolved, key=lambda m: m.last_seen)
    forgotten = {m.fingerprint for m in by_age[: len(resolved) - MAX_RESOLVED_MEMBERS]}
    return [m for m in members if m.fingerprint not in forgotten]


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): str(item) for key, item in value.items()}


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parse_rfc3339(value)
    except ValueError:
        return None
    return parsed if parsed.year > 1 else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
