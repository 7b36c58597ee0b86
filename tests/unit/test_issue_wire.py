"""An issue's JSON, pinned: `alertfold verify` compares re-folded events with the log byte
for byte, so the snapshot in every `issue-events` value must keep its keys and their order;
the stored and handed-over state must keep its keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.issue import Issue
from domain.issue_state import IssueSnapshot, IssueState
from domain.member_alerts import MemberAlert
from domain.severity import Severity

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALERT: dict[str, Any] = {
    "correlationId": "db-down",
    "header": ":status: Database down",
    "text": "primary does not answer",
    "headerWhenResolved": "Database back",
    "severity": "panic",
    "timestamp": "2026-11-23T09:04:00+00:00",
}
ADA = {"kind": "user", "id": "U1", "name": "ada"}
MEMBER = MemberAlert(
    fingerprint="5f2c0d1e3a4b6c7d",
    labels={"alertname": "DiskFull", "instance": "db-1"},
    annotations={"summary": "Disk full"},
    status="resolved",
    severity=Severity.ERROR,
    starts_at=T0 - timedelta(hours=1),
    ends_at=T0 + timedelta(minutes=3),
    last_seen=T0 + timedelta(minutes=4),
)

# An issue with every field set, so no key is left out of the pinned JSON.
STATE = IssueState(
    id="7d0c6a4e-1b7e-5c1f-9a51-2f1c1d2e3f40",
    channel_id="C123",
    correlation_id="db-down",
    status="open",
    severity=Severity.PANIC,
    alert_count=3,
    opened_at=T0,
    updated_at=T0 + timedelta(minutes=5),
    resolved_at=None,
    resolution=None,
    archived_at=None,
    escalation_level=1,
    mentions=["<!here>"],
    slack_ts="1795426000.000100",
    acknowledged_by=ADA,
    acknowledged_at=T0 + timedelta(minutes=2),
    investigated_by=ADA,
    muted_by=None,
    resolved_by=None,
    presentable=True,
    silenced_until=T0 + timedelta(hours=1),
    silence_id="s1",
    last_alert=ALERT,
    members=[MEMBER],
    truncated_alerts=2,
    version=7,
    last_alert_at=T0 + timedelta(minutes=4),
    held_until=None,
    recent_interactions=("i-1", "i-2"),
    silence_starts_at=T0 + timedelta(hours=2),
    reminder_interval_seconds=1800,
    deduplication_window_seconds=300,
    unattended_since=T0 + timedelta(minutes=3),
)
ALERT_JSON = (
    '{"correlationId":"db-down","header":":status: Database down",'
    '"text":"primary does not answer","headerWhenResolved":"Database back",'
    '"severity":"panic","timestamp":"2026-11-23T09:04:00+00:00"}'
)
ADA_JSON = '{"kind":"user","id":"U1","name":"ada"}'
MEMBER_JSON = (
    '{"fingerprint":"5f2c0d1e3a4b6c7d","labels":{"alertname":"DiskFull","instance":"db-1"},'
    '"annotations":{"summary":"Disk full"},"status":"resolved","severity":"error",'
    '"starts_at":"2026-11-23T08:00:00Z","ends_at":"2026-11-23T09:03:00Z",'
    '"last_seen":"2026-11-23T09:04:00Z"}'
)


def test_a_snapshot_keeps_the_keys_and_order_of_the_logged_events() -> None:
    assert IssueSnapshot.of(STATE).model_dump_json() == (
        '{"id":"7d0c6a4e-1b7e-5c1f-9a51-2f1c1d2e3f40","channel_id":"C123",'
        '"correlation_id":"db-down","status":"open","severity":"panic","alert_count":3,'
        '"header":":status: Database down","text":"primary does not answer",'
        '"opened_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:05:00Z",'
        '"resolved_at":null,"resolution":null,"archived_at":null,"escalation_level":1,'
        '"mentions":["<!here>"],"slack_ts":"1795426000.000100",'
        f'"acknowledged_by":{ADA_JSON},"acknowledged_at":"2026-11-23T09:02:00Z",'
        f'"investigated_by":{ADA_JSON},"muted_by":null,"resolved_by":null,'
        '"presentable":true,"silenced_until":"2026-11-23T10:00:00Z","silence_id":"s1",'
        f'"last_alert":{ALERT_JSON},"members":[{MEMBER_JSON}],"truncated_alerts":2}}'
    )


def test_a_state_is_written_as_its_public_fields_then_the_folds_own() -> None:
    assert STATE.model_dump_json() == (
        '{"id":"7d0c6a4e-1b7e-5c1f-9a51-2f1c1d2e3f40","channel_id":"C123",'
        '"correlation_id":"db-down","status":"open","severity":"panic","alert_count":3,'
        '"opened_at":"2026-11-23T09:00:00Z","updated_at":"2026-11-23T09:05:00Z",'
        '"resolved_at":null,"resolution":null,"archived_at":null,"escalation_level":1,'
        '"mentions":["<!here>"],"slack_ts":"1795426000.000100",'
        f'"acknowledged_by":{ADA_JSON},"acknowledged_at":"2026-11-23T09:02:00Z",'
        f'"investigated_by":{ADA_JSON},"muted_by":null,"resolved_by":null,'
        '"presentable":true,"silenced_until":"2026-11-23T10:00:00Z","silence_id":"s1",'
        f'"last_alert":{ALERT_JSON},"members":[{MEMBER_JSON}],"truncated_alerts":2,'
        '"version":7,"last_alert_at":"2026-11-23T09:04:00Z","held_until":null,'
        '"recent_interactions":["i-1","i-2"],"silence_starts_at":"2026-11-23T11:00:00Z",'
        '"reminder_interval_seconds":1800,"deduplication_window_seconds":300,'
        '"unattended_since":"2026-11-23T09:03:00Z"}'
    )


def test_a_state_read_back_from_its_json_is_the_same_state() -> None:
    assert IssueState.model_validate_json(STATE.model_dump_json()) == STATE


def test_a_snapshot_read_back_from_its_json_is_the_same_snapshot() -> None:
    snapshot = IssueSnapshot.of(STATE)
    assert IssueSnapshot.model_validate_json(snapshot.model_dump_json()) == snapshot


def test_a_resolved_issue_is_worded_as_its_alert_words_a_resolution() -> None:
    resolved = STATE.model_copy(update={"status": "resolved"})

    snapshot = IssueSnapshot.of(resolved)

    assert (snapshot.header, snapshot.text) == ("Database back", "primary does not answer")


def test_the_aggregate_keeps_every_field_of_the_state_it_was_rebuilt_from() -> None:
    issue = Issue.from_state(STATE)

    assert issue.to_state() == STATE
    assert issue.snapshot() == IssueSnapshot.of(STATE)


def test_an_aggregate_change_leaves_the_state_it_was_rebuilt_from_as_it_was() -> None:
    issue = Issue.from_state(STATE)

    issue.state.alert_count += 1

    assert STATE.alert_count == 3
    assert issue.to_state().alert_count == 4
