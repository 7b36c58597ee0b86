"""Valid `issue-events` values for tests, with defaults for everything a test does not test.

`issue_event` builds one record; `IssueStory` builds the consistent history of one issue
(versions 1, 2, 3…, timestamps moving forward, status and counts following the events), the
way the fold would write it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.issue_state import IssueSnapshot, IssueStatus
from domain.records import InputPosition, IssueEventRecord
from domain.severity import Severity

BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def alert_json(
    *,
    channel_id: str,
    correlation_id: str,
    header: str,
    text: str,
    severity: Severity,
    timestamp: datetime,
) -> dict[str, Any]:
    """A minimal Slack Manager alert (camelCase keys), as kept in a snapshot's `last_alert`."""
    return {
        "channelId": channel_id,
        "correlationId": correlation_id,
        "header": header,
        "text": text,
        "severity": severity.value,
        "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
    }


def issue_event(
    *,
    issue_id: str = "issue-1",
    version: int = 1,
    type: str | None = None,
    channel_id: str = "C0001",
    correlation_id: str = "corr-1",
    status: IssueStatus = "open",
    severity: Severity = Severity.ERROR,
    alert_count: int | None = None,
    header: str = "Disk almost full",
    text: str = "/var is 91% full",
    opened_at: datetime = BASE_TIME,
    updated_at: datetime | None = None,
    resolved_at: datetime | None = None,
    last_alert: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    event_id: str | None = None,
    cause: InputPosition | None = None,
) -> IssueEventRecord:
    """One issue event; unset fields follow from `version` (time, count, type, ids)."""
    if updated_at is None:
        updated_at = opened_at + timedelta(minutes=version - 1)
    if status == "resolved" and resolved_at is None:
        resolved_at = updated_at
    if type is None:
        type = "IssueOpened" if version == 1 else "AlertGrouped"
    if last_alert is None:
        last_alert = alert_json(
            channel_id=channel_id,
            correlation_id=correlation_id,
            header=header,
            text=text,
            severity=severity,
            timestamp=updated_at,
        )
    snapshot = IssueSnapshot(
        id=issue_id,
        channel_id=channel_id,
        correlation_id=correlation_id,
        status=status,
        severity=severity,
        alert_count=version if alert_count is None else alert_count,
        header=header,
        text=text,
        opened_at=opened_at,
        updated_at=updated_at,
        resolved_at=resolved_at,
        last_alert=last_alert,
    )
    return IssueEventRecord(
        type=type,
        event_id=event_id or f"{issue_id}:{version}",
        issue_id=issue_id,
        version=version,
        channel_id=channel_id,
        correlation_id=correlation_id,
        occurred_at=updated_at,
        cause=cause or InputPosition(topic="alerts", partition=0, offset=version - 1),
        data=data or {},
        issue=snapshot,
    )


def channel_key(event: IssueEventRecord) -> str:
    """The channel whose partition holds the event: the source channel for `IssueMoved`."""
    source = event.data.get("from_channel_id")
    if event.type == "IssueMoved" and isinstance(source, str):
        return source
    return event.channel_id


class IssueStory:
    """The successive events of one issue; each method appends and returns the next event."""

    def __init__(
        self,
        issue_id: str = "issue-1",
        channel_id: str = "C0001",
        correlation_id: str | None = None,
        *,
        start: datetime = BASE_TIME,
        step: timedelta = timedelta(minutes=1),
        severity: Severity = Severity.ERROR,
        header: str = "Disk almost full",
    ) -> None:
        self.issue_id = issue_id
        self.channel_id = channel_id
        self.correlation_id = correlation_id or f"corr-{issue_id}"
        self.events: list[IssueEventRecord] = []
        self._opened_at = start
        self._now = start
        self._step = step
        self._severity = severity
        self._header = header
        self._status: IssueStatus = "open"
        self._alert_count = 0
        self._resolved_at: datetime | None = None

    @property
    def version(self) -> int:
        return len(self.events)

    def opened(self, text: str = "first alert") -> IssueEventRecord:
        self._alert_count = 1
        return self._emit("IssueOpened", text, advance=False)

    def grouped(
        self, text: str = "another alert", severity: Severity | None = None
    ) -> IssueEventRecord:
        self._alert_count += 1
        if severity is not None:
            self._severity = severity
        return self._emit("AlertGrouped", text)

    def severity_changed(self, severity: Severity) -> IssueEventRecord:
        self._severity = severity
        return self._emit("SeverityChanged", "severity changed", data={"severity": severity.value})

    def resolved(self) -> IssueEventRecord:
        self._status = "resolved"
        event = self._emit("IssueResolved", "resolved", resolving=True)
        return event

    def reopened(self, text: str = "firing again") -> IssueEventRecord:
        self._status = "open"
        self._resolved_at = None
        self._alert_count += 1
        return self._emit("IssueReopened", text)

    def reminded(self) -> IssueEventRecord:
        """`IssueReminded`: still open, nobody on it, one reminder interval on."""
        due_at = self._now + self._step  # when it is emitted
        data = {"due_at": due_at.isoformat()}
        return self._emit("IssueReminded", self.events[-1].issue.text, data=data)

    def moved(self, to_channel_id: str, from_slack_ts: str | None = None) -> IssueEventRecord:
        """`IssueMoved`: the state is already in the target channel, with no message there yet.

        It lives on the source channel's partition (see `channel_key`).
        """
        data = {
            "from_channel_id": self.channel_id,
            "to_channel_id": to_channel_id,
            "from_slack_ts": from_slack_ts,
            "reason": "moved by hand",
            "actor": {"kind": "slack_user", "id": "U0MOVER", "name": "Mover"},
        }
        self.channel_id = to_channel_id
        return self._emit("IssueMoved", self.events[-1].issue.text, data=data)

    def arrived(self) -> IssueEventRecord:
        """`IssueArrived`, on the target channel's partition right after `moved`."""
        last = self.events[-1]
        source = last.data.get("from_channel_id")
        return self._emit("IssueArrived", last.issue.text, data={"from_channel_id": source})

    def _emit(
        self,
        type: str,
        text: str,
        *,
        advance: bool = True,
        resolving: bool = False,
        data: dict[str, Any] | None = None,
    ) -> IssueEventRecord:
        if advance:
            self._now += self._step
        if resolving:
            self._resolved_at = self._now
        event = issue_event(
            issue_id=self.issue_id,
            version=self.version + 1,
            type=type,
            channel_id=self.channel_id,
            correlation_id=self.correlation_id,
            status=self._status,
            severity=self._severity,
            alert_count=self._alert_count,
            header=self._header,
            text=text,
            opened_at=self._opened_at,
            updated_at=self._now,
            resolved_at=self._resolved_at,
            data=data,
        )
        self.events.append(event)
        return event
