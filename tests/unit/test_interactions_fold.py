"""People acting on issues: each act is an event that says who, and retries change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.alert import Alert
from domain.fold import (
    AlertReceived,
    FoldOutcome,
    InteractionReceived,
    TickReceived,
    fold_alert,
    fold_interaction,
    fold_tick,
)
from domain.interactions import Actor, Interaction, InteractionKind
from domain.issue_state import IssueState
from domain.records import InputPosition
from domain.severity import Severity

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = Actor(kind="slack_user", id="U0ALICE", name="Alice")
counter = iter(range(10_000))


def opened(**fields: Any) -> IssueState:
    body = {
        "slackChannelId": "C123",
        "correlationId": "db",
        "header": "Database down",
        "severity": "warning",
        "timestamp": T0.isoformat(),
        "issueFollowUpEnabled": True,
        **fields,
    }
    received = AlertReceived(
        Alert.from_json_obj(body), InputPosition(topic="alerts", partition=0, offset=0), T0
    )
    state = fold_alert(None, received).state
    assert state is not None
    return state


def act(
    state: IssueState | None,
    kind: InteractionKind,
    *,
    interaction_id: str | None = None,
    issue_id: str | None = None,
    **fields: Any,
) -> Any:
    assert state is not None
    interaction = Interaction(
        interaction_id=interaction_id or f"i{next(counter)}",
        kind=kind,
        channel_id="C123",
        correlation_id="db",
        issue_id=issue_id or state.id,
        at=T0 + timedelta(minutes=5),
        actor=ALICE,
        **fields,
    )
    position = InputPosition(topic="interactions", partition=0, offset=next(counter))
    return fold_interaction(state, InteractionReceived(interaction, position))


def test_posted_message_ts_becomes_part_of_the_issue() -> None:
    folded = act(opened(), InteractionKind.MESSAGE_POSTED, slack_ts="1795426000.000100")
    assert [e.type for e in folded.events] == ["SlackMessagePosted"]
    assert folded.events[0].issue.slack_ts == "1795426000.000100"
    again = act(folded.state, InteractionKind.MESSAGE_POSTED, slack_ts="1795426000.000100")
    assert again.outcome is FoldOutcome.IGNORED_REFUSED and again.events == []


def test_acknowledgement_records_who_and_when() -> None:
    folded = act(opened(), InteractionKind.ACKNOWLEDGED)
    assert folded.events[0].type == "IssueAcknowledged"
    issue = folded.events[0].issue
    assert issue.acknowledged_by == {"kind": "slack_user", "id": "U0ALICE", "name": "Alice"}
    assert issue.acknowledged_at == T0 + timedelta(minutes=5)
    assert folded.events[0].data["actor"]["id"] == "U0ALICE"


def test_a_retried_delivery_is_folded_once_even_after_later_acts() -> None:
    acked = act(opened(), InteractionKind.ACKNOWLEDGED, interaction_id="env-1")
    unacked = act(acked.state, InteractionKind.UNACKNOWLEDGED, interaction_id="env-2")
    retried = act(unacked.state, InteractionKind.ACKNOWLEDGED, interaction_id="env-1")
    assert retried.outcome is FoldOutcome.IGNORED_REFUSED
    assert retried.state.acknowledged_by is None


def test_acknowledging_twice_changes_nothing() -> None:
    acked = act(opened(), InteractionKind.ACKNOWLEDGED)
    assert act(acked.state, InteractionKind.ACKNOWLEDGED).events == []


def test_an_acknowledged_issue_does_not_escalate() -> None:
    state = opened(escalation=[{"severity": "panic", "delaySeconds": 60}])
    acked = act(state, InteractionKind.ACKNOWLEDGED).state
    tick = TickReceived(T0 + timedelta(minutes=10), InputPosition(topic="t", partition=0, offset=0))
    assert "IssueEscalated" not in [e.type for e in fold_tick(acked, tick).events]


def test_resolving_by_hand_and_unresolving() -> None:
    resolved = act(opened(), InteractionKind.RESOLVED)
    snapshot = resolved.events[0].issue
    assert snapshot.status == "resolved" and snapshot.resolution == "manual"
    assert snapshot.resolved_by is not None and snapshot.resolved_by["name"] == "Alice"
    unresolved = act(resolved.state, InteractionKind.UNRESOLVED)
    assert unresolved.state.status == "open"
    assert unresolved.state.severity is Severity.WARNING


def test_resolving_a_resolved_issue_is_refused() -> None:
    resolved = act(opened(), InteractionKind.RESOLVED)
    refused = act(resolved.state, InteractionKind.RESOLVED)
    assert refused.outcome is FoldOutcome.IGNORED_REFUSED
    assert "not open" in refused.reason


def test_investigating_and_muting_say_who() -> None:
    investigated = act(opened(), InteractionKind.INVESTIGATING)
    muted = act(investigated.state, InteractionKind.MUTED)
    issue = muted.events[0].issue
    assert issue.investigated_by is not None and issue.muted_by is not None
    unmuted = act(muted.state, InteractionKind.UNMUTED)
    assert unmuted.events[0].issue.muted_by is None


def test_termination_archives_at_once_and_frees_the_correlation_id() -> None:
    terminated = act(opened(), InteractionKind.TERMINATED)
    assert [e.type for e in terminated.events] == ["IssueTerminated"]
    assert terminated.events[0].issue.status == "archived"
    assert terminated.state is None


def test_an_act_on_an_older_issue_of_the_same_correlation_id_is_ignored() -> None:
    folded = act(opened(), InteractionKind.ACKNOWLEDGED, issue_id="another-issue")
    assert folded.outcome is FoldOutcome.IGNORED_UNKNOWN_ISSUE
    assert folded.events == []
