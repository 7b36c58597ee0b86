"""The fold: one input and the state it touches in, the new state and new events out.

This is the only place alertfold decides anything about issues. It is a pure function: it
reads no clock (time comes from the input), draws no random ids (ids are derived from the
input's position in the log), and does no I/O, so replaying the inputs reproduces
`issue-events` byte for byte.

The state a channel's actor keeps is one `IssueState` per correlation id; an alert only ever
touches the state of its own correlation id, so the fold takes and returns just that part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.alert import Alert
from domain.issue import Issue
from domain.issue_state import IssueState
from domain.records import InputPosition, IssueEventRecord
from domain.severity import Severity

# Ids derived from input positions live in their own namespace so they never collide with
# ids minted elsewhere.
ALERTFOLD_NAMESPACE = uuid5(NAMESPACE_URL, "https://alertfold.dev/ids")

_EVENT_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


@dataclass(frozen=True)
class AlertReceived:
    """An alert as read from the `alerts` log: the fact, where it sits, and when it arrived.

    `received_at` is the time the alert was accepted (the API's clock, or the Kafka record
    timestamp for producers writing the topic directly); it stands in for a missing or stale
    alert timestamp, as Slack Manager's "now" does, but is recorded in the log.
    """

    alert: Alert
    position: InputPosition
    received_at: datetime


class FoldOutcome(StrEnum):
    OPENED = "opened"
    GROUPED = "grouped"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    IGNORED_STALE = "ignored_stale"
    IGNORED_NO_OPEN_ISSUE = "ignored_no_open_issue"
    IGNORED_ALREADY_RESOLVED = "ignored_already_resolved"


@dataclass(frozen=True)
class Folded:
    """What the fold decided: the correlation id's new state and the events that say why."""

    state: IssueState | None
    events: list[IssueEventRecord] = field(default_factory=list)
    outcome: FoldOutcome = FoldOutcome.GROUPED


def fold_alert(current: IssueState | None, received: AlertReceived) -> Folded:
    """Group the alert into its issue, opening, resolving or reopening it as the alert says."""
    alert = received.alert.stamped(received.received_at)
    at = alert.timestamp or received.received_at
    if current is None:
        if alert.severity is Severity.RESOLVED:
            return Folded(None, outcome=FoldOutcome.IGNORED_NO_OPEN_ISSUE)
        issue = Issue.open(alert, issue_id=issue_id_for(alert, received.position), at=at)
        return _decided(None, issue, received.position, FoldOutcome.OPENED)

    issue = Issue.from_state(current)
    if issue.is_older_than_last_alert(alert):
        return Folded(current, outcome=FoldOutcome.IGNORED_STALE)
    if issue.status == "resolved":
        if alert.severity is Severity.RESOLVED:
            return Folded(current, outcome=FoldOutcome.IGNORED_ALREADY_RESOLVED)
        issue.reopen(alert, at=at)
        return _decided(current, issue, received.position, FoldOutcome.REOPENED)
    if alert.severity is Severity.RESOLVED:
        issue.resolve(alert, at=at)
        return _decided(current, issue, received.position, FoldOutcome.RESOLVED)
    issue.group(alert, at=at)
    return _decided(current, issue, received.position, FoldOutcome.GROUPED)


def issue_id_for(alert: Alert, position: InputPosition) -> UUID:
    """The id of an issue opened by this alert at this place in the log."""
    return uuid5(
        ALERTFOLD_NAMESPACE,
        f"issue/{alert.slack_channel_id}/{alert.correlation_id}/{_where(position)}",
    )


def event_id_for(position: InputPosition, index: int) -> UUID:
    """The id of the index-th event decided on the input at this position."""
    return uuid5(ALERTFOLD_NAMESPACE, f"event/{_where(position)}/{index}")


def _where(position: InputPosition) -> str:
    return f"{position.topic}/{position.partition}/{position.offset}"


def _decided(
    before: IssueState | None, issue: Issue, position: InputPosition, outcome: FoldOutcome
) -> Folded:
    events = issue.collect_events()
    records = []
    replayed: Aggregate | None = Issue.from_state(before) if before is not None else None
    for index, event in enumerate(events):
        replayed = event.mutate(replayed)
        assert isinstance(replayed, Issue)
        records.append(_record(event, index, replayed, position))
    return Folded(issue.to_state(), records, outcome)


def _record(event: Any, index: int, after: Issue, position: InputPosition) -> IssueEventRecord:
    return IssueEventRecord(
        type=type(event).__name__,
        event_id=str(event_id_for(position, index)),
        issue_id=str(event.originator_id),
        version=event.originator_version,
        channel_id=after.channel_id,
        correlation_id=after.correlation_id,
        occurred_at=event.timestamp,
        cause=position,
        data={k: v for k, v in event.__dict__.items() if k not in _EVENT_FIELDS},
        issue=after.snapshot(),
    )
