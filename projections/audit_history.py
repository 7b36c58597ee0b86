"""An issue's history as people read it: when, what, who, and from which input.

Pure functions of `IssueEventRecord`s. Event types are an open set (the fold gains new
decisions over time), so every type gets a summary: the known ones a tailored sentence, any
other its name in words plus its scalar data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.records import InputPosition, IssueEventRecord

NOBODY = "—"
CLOCK = "clock"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of an issue's history."""

    version: int
    type: str
    event_id: str
    occurred_at: datetime
    summary: str
    who: str
    source: str
    status: str
    severity: str

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "type": self.type,
            "event_id": self.event_id,
            "occurred_at": iso_z(self.occurred_at),
            "summary": self.summary,
            "who": self.who,
            "source": self.source,
            "status": self.status,
            "severity": self.severity,
        }


def history_entry(event: IssueEventRecord) -> HistoryEntry:
    return HistoryEntry(
        version=event.version,
        type=event.type,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        summary=summarize(event),
        who=who(event),
        source=source(event.cause),
        status=event.issue.status,
        severity=str(event.issue.severity),
    )


def source(cause: InputPosition) -> str:
    """The input that caused a decision, as `topic[partition]@offset`."""
    return f"{cause.topic}[{cause.partition}]@{cause.offset}"


def who(event: IssueEventRecord) -> str:
    """Who or what made the decision happen.

    A person named in the event (`actor`, `user`) first; then the alert that caused it
    (its `author`, else its `host`); a decision caused by a tick is the clock's, even
    though the issue still remembers its last alert; otherwise that last alert's sender.
    """
    data = event.data
    for key in ("actor", "user"):
        name = _name(data.get(key))
        if name:
            return name
    alert = data.get("alert")
    if isinstance(alert, Mapping):
        name = _sender(alert)
        if name:
            return name
    if event.cause.topic.endswith("ticks"):
        return CLOCK
    return _sender(event.issue.last_alert) or NOBODY


def summarize(event: IssueEventRecord) -> str:
    """A short sentence for the event; unknown types are described generically."""
    describe = _SUMMARIES.get(event.type)
    if describe is not None:
        try:
            return describe(event)
        except (KeyError, TypeError, ValueError):
            pass  # an older or newer shape of a known event: fall back to the generic form
    return _generic(event)


def _opened(event: IssueEventRecord) -> str:
    issue = event.issue
    return f"opened: {issue.header} ({issue.severity})"


def _grouped(event: IssueEventRecord) -> str:
    count = event.issue.alert_count
    return f"alert grouped ({count} alert{'' if count == 1 else 's'})"


def _severity_changed(event: IssueEventRecord) -> str:
    """Names the member alert whose report changed it, by its labels (but the alert name the
    issue's members share), when one did."""
    fingerprint = event.data.get("member")
    if not fingerprint:
        return f"severity {_change(event.data)}"
    member = next((m for m in event.issue.members if m.fingerprint == fingerprint), None)
    labels = member.labels if member is not None else {}
    named = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    return f"severity {_change(event.data)} by alert {named or fingerprint}"


def _resolved(event: IssueEventRecord) -> str:
    resolution = event.data.get("resolution") or event.issue.resolution
    if resolution == "auto":
        return "auto-resolved"
    if resolution == "inconclusive":
        return "auto-resolved (inconclusive)"
    return "resolved by alert"


def _reopened(event: IssueEventRecord) -> str:
    return f"reopened ({event.issue.severity}, {event.issue.alert_count} alerts)"


def _delay_elapsed(_: IssueEventRecord) -> str:
    return "notification delay elapsed: issue shown"


def _escalated(event: IssueEventRecord) -> str:
    data = event.data
    parts = [f"escalated to level {data['level']}: severity {_change(data)}"]
    mentions = data.get("mentions") or []
    if mentions:
        parts.append("mentions " + " ".join(str(m) for m in mentions))
    if data.get("move_to_channel"):
        parts.append(f"moved to {data['move_to_channel']}")
    return ", ".join(parts)


def _archived(event: IssueEventRecord) -> str:
    reason = str(event.data.get("reason") or "").replace("_", " ")
    return f"archived ({reason})" if reason else "archived"


def _change(data: Mapping[str, Any]) -> str:
    new = data["severity"]
    previous = data.get("previous")
    return f"{previous} → {new}" if previous else f"→ {new}"


_SUMMARIES: dict[str, Callable[[IssueEventRecord], str]] = {
    "IssueOpened": _opened,
    "AlertGrouped": _grouped,
    "SeverityChanged": _severity_changed,
    "IssueResolved": _resolved,
    "IssueReopened": _reopened,
    "NotificationDelayElapsed": _delay_elapsed,
    "IssueEscalated": _escalated,
    "IssueArchived": _archived,
}

_GENERIC_MAX = 80


def _generic(event: IssueEventRecord) -> str:
    """`IssueAcknowledged` with `{"by": "U1"}` → `issue acknowledged (by=U1)`."""
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in event.type).strip()
    details = ", ".join(
        f"{key}={value}"
        for key, value in sorted(event.data.items())
        if isinstance(value, str | int | float | bool) and value != ""
    )
    text = f"{words} ({details})" if details else words
    return text if len(text) <= _GENERIC_MAX else text[: _GENERIC_MAX - 1] + "…"


def _name(value: Any) -> str:
    """A person as events name them: a string, or an object with a name or an id."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        for key in ("name", "username", "real_name", "id"):
            if isinstance(value.get(key), str) and value[key].strip():
                return str(value[key]).strip()
    return ""


def _sender(alert: Mapping[str, Any]) -> str:
    for key in ("author", "host"):
        value = alert.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def parse_time(text: str) -> datetime:
    """An instant from ISO 8601 text (`2024-05-01T12:00:00Z`); no zone means UTC."""
    cleaned = text.strip()
    if cleaned[-1:] in ("z", "Z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601, e.g. 2024-05-01T12:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso_z(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as the rest of the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
