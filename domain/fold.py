"""The fold: one input and the state it touches in, the new state and new events out.

This is the only place alertfold decides anything about issues. It is a pure function: it
reads no clock (time comes from the input), draws no random ids (ids are derived from the
input's position in the log), and does no I/O, so replaying the inputs reproduces
`issue-events` byte for byte.

The state a channel's actor keeps is one `IssueState` per correlation id; an alert only ever
touches the state of its own correlation id, and a tick is folded into each issue with a due
deadline one at a time, so the fold takes and returns just that part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.alert import Alert
from domain.alerting import OFF, AlertingSettings
from domain.deadlines import Deadline, DeadlineKind, deadlines_of, escalation_due
from domain.deduplication import is_repeat
from domain.errors import DomainError
from domain.interactions import Interaction
from domain.issue import Issue
from domain.issue_state import IssueSnapshot, IssueState
from domain.member_alerts import MemberNews, MemberReport
from domain.records import ISSUE_EVENT_SCHEMA_VERSION, InputPosition, IssueEventRecord
from domain.severity import Severity
from domain.silences import Silence
from domain.unvalidated import made_of

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
    folded_before: Mapping[str, int] = field(default_factory=dict)
    # The partition's silences when the alert came (see `domain.silence_book`).
    silences: tuple[Silence, ...] = ()
    # The partition's alerting settings when the alert came (see `domain.alerting`).
    settings: AlertingSettings = OFF


@dataclass(frozen=True)
class TickReceived:
    """A tick from the `ticks` log: the time every deadline up to `at` is judged against.

    `folded_before` (on both inputs) is where the fold stood in each input topic of the
    partition when this input came; it is copied onto the events so the interleaving of
    alerts and ticks can be repeated exactly (see `IssueEventRecord.folded_before`).
    """

    at: datetime
    position: InputPosition
    folded_before: Mapping[str, int] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()


@dataclass(frozen=True)
class InteractionReceived:
    """An interaction from the `interactions` log; its time is the one it carries."""

    interaction: Interaction
    position: InputPosition
    folded_before: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SilencesChanged:
    """The partition's silences changed (one set, or expired early): every issue of the
    partition is reconsidered against them, at `at`."""

    silences: tuple[Silence, ...]
    at: datetime
    position: InputPosition
    folded_before: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueHandedOver:
    """An issue moved here from another channel, as the worker handed it over (its state)."""

    issue: IssueState
    from_channel_id: str
    reason: str
    at: datetime
    position: InputPosition
    folded_before: Mapping[str, int] = field(default_factory=dict)


Received = AlertReceived | TickReceived | InteractionReceived | SilencesChanged | IssueHandedOver


class FoldOutcome(StrEnum):
    OPENED = "opened"
    GROUPED = "grouped"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    DEADLINES_FIRED = "deadlines_fired"
    ACTED = "acted"
    IGNORED_STALE = "ignored_stale"
    IGNORED_REPEAT = "ignored_repeat"
    IGNORED_NO_OPEN_ISSUE = "ignored_no_open_issue"
    IGNORED_ALREADY_RESOLVED = "ignored_already_resolved"
    NOTHING_DUE = "nothing_due"
    IGNORED_UNKNOWN_ISSUE = "ignored_unknown_issue"
    IGNORED_REFUSED = "ignored_refused"
    MOVED = "moved"
    ARRIVED = "arrived"
    SILENCING_CHANGED = "silencing_changed"


@dataclass(frozen=True)
class Folded:
    """What the fold decided: the correlation id's new state and the events that say why."""

    state: IssueState | None
    events: list[IssueEventRecord] = field(default_factory=list)
    outcome: FoldOutcome = FoldOutcome.GROUPED
    reason: str = ""  # why an input changed nothing, for the log
    # Set when the issue left for another channel: the state to hand over there.
    moved: IssueState | None = None


def fold_alert(current: IssueState | None, received: AlertReceived) -> Folded:
    """Group the alert into its issue, opening, resolving or reopening it as the alert says.

    A member alert (from Alertmanager, see `domain.member_alerts`) is judged by what it says
    about its member, at the time it was received; any other alert by its own timestamp.
    """
    alert = received.alert.stamped(received.received_at)
    report = MemberReport.read(alert.metadata, alert.severity)
    at = received.received_at if report is not None else alert.timestamp or received.received_at
    if current is not None and current.status == "archived":
        current = None  # closed for good: the alert opens a new issue
    if current is None:
        if alert.severity is Severity.RESOLVED:
            return Folded(None, outcome=FoldOutcome.IGNORED_NO_OPEN_ISSUE)
        issue_id = issue_id_for(alert, received.position)
        issue = Issue.open(alert, issue_id=issue_id, at=at, settings=received.settings)
        issue.reconsider_silence(received.silences, at=at)
        return _decided(issue, received, FoldOutcome.OPENED)

    if report is not None:
        return _fold_member_alert(current, alert, report, received)
    issue = Issue.from_state(current)
    if issue.is_older_than_last_alert(alert):
        return Folded(current, outcome=FoldOutcome.IGNORED_STALE)
    if is_repeat(current, alert, at):
        return Folded(current, outcome=FoldOutcome.IGNORED_REPEAT, reason="a repeat")
    if issue.status == "resolved":
        if alert.severity is Severity.RESOLVED:
            return Folded(current, outcome=FoldOutcome.IGNORED_ALREADY_RESOLVED)
        issue.reopen(alert, at=at)
        outcome = FoldOutcome.REOPENED
    elif alert.severity is Severity.RESOLVED:
        issue.resolve(alert, at=at)
        outcome = FoldOutcome.RESOLVED
    else:
        issue.group(alert, at=at)
        outcome = FoldOutcome.GROUPED
    issue.reconsider_silence(received.silences, at=at)
    return _decided(issue, received, outcome)


def _fold_member_alert(
    current: IssueState, alert: Alert, report: MemberReport, received: AlertReceived
) -> Folded:
    """The issue resolves when its last firing member resolves and reopens when a member
    fires again. A re-sent firing member refreshes the issue, and reopens it only when the
    issue resolved by its auto-resolve deadline (a guess the re-send proves wrong), not when
    a person or a resolved alert resolved it."""
    at = received.received_at
    issue = Issue.from_state(current)
    news = issue.member_news(report, at)
    if news is MemberNews.STALE:
        return Folded(current, outcome=FoldOutcome.IGNORED_STALE, reason="an older occurrence")
    if issue.status == "resolved":
        guessed = current.resolution in ("auto", "inconclusive")
        if news is not MemberNews.FIRED and not (news is MemberNews.RESENT and guessed):
            return Folded(current, outcome=FoldOutcome.IGNORED_ALREADY_RESOLVED)
        issue.reopen(alert, at=at)
        outcome = FoldOutcome.REOPENED
    elif news is MemberNews.REPEATED:
        return Folded(current, outcome=FoldOutcome.IGNORED_ALREADY_RESOLVED, reason="repeated")
    elif report.status == "resolved" and not any(
        m.firing for m in current.members if m.fingerprint != report.fingerprint
    ):
        issue.resolve(alert, at=at)
        outcome = FoldOutcome.RESOLVED
    else:
        issue.group(alert, at=at)
        outcome = FoldOutcome.GROUPED
    issue.reconsider_silence(received.silences, at=at)
    return _decided(issue, received, outcome)


# Enough for every kind of deadline to fire once; a loop beyond it would be a bug.
_MAX_DEADLINES_PER_TICK = 2 * len(DeadlineKind)


def fold_tick(current: IssueState, tick: TickReceived) -> Folded:
    """Fire, in time order, every deadline of the issue due at or before the tick.

    Each fires with the tick's time as its timestamp (the moment alertfold noticed) and its
    own due time in the event, so a worker that was down catches up in the right order. An
    archived issue leaves no state behind: the next alert opens a new issue.
    """
    issue = Issue.from_state(current)
    for _ in range(_MAX_DEADLINES_PER_TICK):
        due = [d for d in deadlines_of(issue.to_state()) if d.due_at <= tick.at]
        if not due:
            break
        _fire(issue, due[0], tick)
        if issue.channel_id != current.channel_id:
            break  # moved: the rest is decided in the new channel
    else:
        raise RuntimeError(f"issue {issue.id}: deadlines keep firing at {tick.at}")
    if not issue.pending_events:
        return Folded(current, outcome=FoldOutcome.NOTHING_DUE)
    return _closed_or_kept(_decided(issue, tick, FoldOutcome.DEADLINES_FIRED))


def fold_silences(current: IssueState, changed: SilencesChanged) -> Folded:
    """Silence or unsilence the issue as the partition's changed silences now say."""
    issue = Issue.from_state(current)
    issue.reconsider_silence(changed.silences, at=changed.at)
    if not issue.pending_events:
        return Folded(current, outcome=FoldOutcome.NOTHING_DUE)
    return _decided(issue, changed, FoldOutcome.SILENCING_CHANGED)


def fold_handover(current: IssueState | None, handed: IssueHandedOver) -> Folded:
    """Continue a moved issue here; a repeated hand-over (after a crash) changes nothing."""
    arriving = handed.issue
    if current is not None and current.id == arriving.id:
        return Folded(current, outcome=FoldOutcome.IGNORED_STALE, reason="arrived already")
    occupied = current is not None and current.status != "archived"
    issue = Issue.from_state(arriving)
    issue.arrive(
        from_channel_id=handed.from_channel_id,
        reason=handed.reason,
        occupied=occupied,
        at=handed.at,
    )
    folded = _decided(issue, handed, FoldOutcome.ARRIVED)
    if occupied:
        return Folded(current, folded.events, folded.outcome)
    return folded


def fold_interaction(current: IssueState | None, received: InteractionReceived) -> Folded:
    """Apply what someone did, if the issue is still the one they acted on and allows it."""
    interaction = received.interaction
    if current is None or current.id != interaction.issue_id:
        reason = f"issue {interaction.issue_id} is not open in {interaction.channel_id}"
        return Folded(current, outcome=FoldOutcome.IGNORED_UNKNOWN_ISSUE, reason=reason)
    issue = Issue.from_state(current)
    try:
        issue.act(interaction, at=interaction.at)
    except DomainError as refusal:
        return Folded(current, outcome=FoldOutcome.IGNORED_REFUSED, reason=str(refusal))
    return _closed_or_kept(_decided(issue, received, FoldOutcome.ACTED))


def _moved_away(folded: Folded) -> Folded:
    """After an `IssueMoved` the issue lives in its new channel: no state is left here."""
    if folded.state is None or not any(e.type == "IssueMoved" for e in folded.events):
        return folded
    return Folded(None, folded.events, FoldOutcome.MOVED, moved=folded.state)


def _closed_or_kept(folded: Folded) -> Folded:
    """An archived issue leaves no state behind: the next alert opens a new issue."""
    if folded.state is not None and folded.state.status == "archived":
        return Folded(None, folded.events, folded.outcome)
    return _moved_away(folded)


def _fire(issue: Issue, deadline: Deadline, tick: TickReceived) -> None:
    due_at, now = deadline.due_at, tick.at
    if deadline.kind in (DeadlineKind.SILENCE_END, DeadlineKind.SILENCE_START):
        issue.reconsider_silence(tick.silences, at=now)
    elif deadline.kind is DeadlineKind.NOTIFICATION:
        issue.end_notification_delay(due_at=due_at, at=now)
    elif deadline.kind is DeadlineKind.ESCALATION:
        escalation = escalation_due(issue.to_state(), issue.policy, now)
        assert escalation is not None  # due, so at least that point has passed
        level, step = escalation
        issue.escalate(level, step, due_at=due_at, at=now)
        if step.move_to_channel and step.move_to_channel != issue.channel_id:
            issue.move_by_escalation(step.move_to_channel, level=level, at=now)
    elif deadline.kind is DeadlineKind.AUTO_RESOLVE:
        issue.auto_resolve(due_at=due_at, at=now)
    elif deadline.kind is DeadlineKind.REMINDER:
        issue.remind(due_at=due_at, at=now)
    else:
        reason = "resolved" if issue.status == "resolved" else "fire_and_forget"
        issue.archive(reason, due_at=due_at, at=now)


def issue_id_for(alert: Alert, position: InputPosition) -> UUID:
    """The id of an issue opened by this alert at this place in the log."""
    return uuid5(
        ALERTFOLD_NAMESPACE,
        f"issue/{alert.slack_channel_id}/{alert.correlation_id}/{_where(position)}",
    )


def event_id_for(position: InputPosition, issue_id: str, version: int) -> str:
    """The id of the event that took the issue to `version`, decided on this input.

    A tick decides for many issues one at a time; naming each event by its issue and version
    (not by its place among the tick's events) keeps the id of every event the same when a
    re-fold after a crash finds some of those issues already updated.
    """
    return uuid5_text(ALERTFOLD_NAMESPACE, f"event/{_where(position)}/{issue_id}/{version}")


def uuid5_text(namespace: UUID, name: str) -> str:
    """`str(uuid5(namespace, name))`, without the two `UUID` objects: made for every event."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _where(position: InputPosition) -> str:
    return f"{position.topic}/{position.partition}/{position.offset}"


def _decided(
    issue: Issue,
    cause: Received,
    outcome: FoldOutcome,
) -> Folded:
    records = [_record(event, after, cause) for event, after in issue.collect_decided()]
    return Folded(issue.to_state(), records, outcome)


def _record(event: Any, after: IssueSnapshot, cause: Received) -> IssueEventRecord:
    issue_id = str(event.originator_id)
    # Every value is already of its field's type: constructed, not validated again.
    values = dict(
        schema_version=ISSUE_EVENT_SCHEMA_VERSION,
        type=type(event).__name__,
        event_id=event_id_for(cause.position, issue_id, event.originator_version),
        issue_id=issue_id,
        version=event.originator_version,
        channel_id=after.channel_id,
        correlation_id=after.correlation_id,
        occurred_at=event.timestamp,
        cause=cause.position,
        data={k: v for k, v in event.__dict__.items() if k not in _EVENT_FIELDS},
        issue=after,
        folded_before=dict(cause.folded_before),
    )
    return made_of(IssueEventRecord, values)
