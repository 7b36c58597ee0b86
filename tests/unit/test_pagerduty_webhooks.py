"""PagerDuty webhooks (v3): only signed requests count, and an incident acknowledged,
unacknowledged or resolved in PagerDuty becomes that act on the alertfold issue it names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.interactions import Actor, InteractionKind
from gateways.api.pagerduty_events import (
    Ignored,
    NotAnEvent,
    PagerDutyAct,
    looks_like_an_issue_id,
    read_event,
)
from gateways.api.pagerduty_signature import BadSignature, sign, verify_signature

SECRET = "pd-secret-one"
NEW_SECRET = "pd-secret-two"
BODY = b'{"event":{"id":"01D","event_type":"incident.acknowledged"}}'
ISSUE_ID = "6f1c9e52-7c1b-5b8e-9a43-0c5f6d7e8a90"
ISSUE = {"id": ISSUE_ID, "channel_id": "C123", "correlation_id": "db"}


def event(event_type: str = "incident.acknowledged", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "01DEN8QW5PDQ0D5ZZZ5ZJBGJAV",
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": "2026-11-23T09:05:00.123Z",
        "agent": {"id": "PUSER01", "type": "user_reference", "summary": "Alice Ops"},
        "data": {"id": "PINC01", "type": "incident", "incident_key": ISSUE_ID, "status": "x"},
    }
    body.update(fields)
    return {"event": body}


# -- signature ---------------------------------------------------------------------------


def test_a_body_signed_with_the_secret_is_genuine() -> None:
    verify_signature(BODY, sign(BODY, SECRET), [SECRET])


def test_during_a_rotation_any_offered_signature_may_match_any_secret() -> None:
    header = f"{sign(BODY, 'retired-secret')}, {sign(BODY, NEW_SECRET)}"
    verify_signature(BODY, header, [SECRET, NEW_SECRET])


def test_a_signature_of_another_body_is_refused() -> None:
    with pytest.raises(BadSignature, match="matches none of the configured secrets"):
        verify_signature(BODY + b" ", sign(BODY, SECRET), [SECRET])


def test_a_signature_by_an_unknown_secret_is_refused() -> None:
    with pytest.raises(BadSignature, match="matches none"):
        verify_signature(BODY, sign(BODY, "guessed"), [SECRET])


@pytest.mark.parametrize("header", [None, "", "  "])
def test_a_missing_signature_is_refused(header: str | None) -> None:
    with pytest.raises(BadSignature, match="missing X-PagerDuty-Signature"):
        verify_signature(BODY, header, [SECRET])


def test_a_signature_in_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(BadSignature, match="no v1= signature"):
        verify_signature(BODY, sign(BODY, SECRET).replace("v1=", "v2="), [SECRET])


# -- events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("incident.acknowledged", InteractionKind.ACKNOWLEDGED),
        ("incident.unacknowledged", InteractionKind.UNACKNOWLEDGED),
        ("incident.resolved", InteractionKind.RESOLVED),
    ],
)
def test_incident_changes_become_acts_on_the_issue(event_type: str, kind: InteractionKind) -> None:
    act = read_event(event(event_type))
    assert isinstance(act, PagerDutyAct)
    assert (act.kind, act.incident_key) == (kind, ISSUE_ID)
    assert act.actor == Actor(kind="pagerduty", id="PUSER01", name="Alice Ops")
    assert act.at == datetime(2026, 11, 23, 9, 5, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "event_type", ["incident.triggered", "incident.escalated", "incident.annotated", ""]
)
def test_other_event_types_are_ignored_with_the_reason(event_type: str) -> None:
    found = read_event(event(event_type))
    assert isinstance(found, Ignored)
    assert "does not change an issue" in found.reason


def test_an_incident_without_incident_key_is_ignored() -> None:
    found = read_event(event(data={"id": "PINC01", "type": "incident"}))
    assert isinstance(found, Ignored) and "incident_key" in found.reason


def test_without_an_agent_pagerduty_itself_acted() -> None:
    act = read_event(event("incident.resolved", agent=None))
    assert isinstance(act, PagerDutyAct)
    assert act.actor == Actor(kind="pagerduty", id="pagerduty")


def test_retries_of_one_delivery_make_the_same_interaction() -> None:
    act = read_event(event())
    assert isinstance(act, PagerDutyAct)
    first, retry = act.interaction(ISSUE, "wh-1"), act.interaction(ISSUE, "wh-1")
    assert first == retry
    assert first.interaction_id == "pagerduty:wh-1"
    assert (first.channel_id, first.correlation_id, first.issue_id) == ("C123", "db", ISSUE_ID)
    assert (
        act.interaction(ISSUE, None).interaction_id == "pagerduty:event/01DEN8QW5PDQ0D5ZZZ5ZJBGJAV"
    )


@pytest.mark.parametrize("body", [[], {"events": []}, {"event": "x"}])
def test_a_body_that_is_not_an_event_is_an_error(body: Any) -> None:
    with pytest.raises(NotAnEvent):
        read_event(body)


def test_an_event_time_without_zone_is_an_error() -> None:
    with pytest.raises(NotAnEvent, match="time zone"):
        read_event(event(occurred_at="2026-11-23T09:05:00"))


def test_only_version_5_uuids_look_like_alertfold_issue_ids() -> None:
    assert looks_like_an_issue_id(ISSUE_ID)
    assert not looks_like_an_issue_id("4b4f3e9c-1c9e-4d7e-8a43-0c5f6d7e8a90")  # version 4
    assert not looks_like_an_issue_id("srv-42/disk-full")
