"""Acting over HTTP: the view refuses at once what the fold would refuse, with its reason,
and an accepted act is the interaction (or silence) Slack would write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.interactions import InteractionKind
from gateways.api.act_rules import (
    Act,
    MoveBody,
    SilenceBody,
    interaction,
    issue_silence,
    why_not,
)
from gateways.api.auth import Operator

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ANA = Operator("ana")


def issue(**fields: Any) -> dict[str, Any]:
    return {
        "id": "i-1",
        "channel_id": "C1",
        "correlation_id": "disk",
        "status": "open",
        "acknowledged_by": None,
        "last_alert": {},
        **fields,
    }


@pytest.mark.parametrize(
    ("act", "fields", "reason"),
    [
        (Act.ACKNOWLEDGE, {"status": "resolved"}, "is resolved; only open issues"),
        (Act.ACKNOWLEDGE, {"acknowledged_by": {"name": "bo"}}, "acknowledged already, by bo"),
        (Act.UNACKNOWLEDGE, {}, "is not acknowledged"),
        (Act.RESOLVE, {"status": "resolved"}, "is resolved already"),
        (Act.REOPEN, {}, "is not resolved"),
        (Act.MOVE, {"status": "archived"}, "archived issues do not change"),
        (Act.SILENCE, {"status": "archived"}, "archived issues do not change"),
        (Act.MOVE, {"last_alert": {"escalation": [{}]}}, "moves only as its escalation says"),
    ],
)
def test_an_act_the_fold_would_refuse_is_refused_with_its_reason(
    act: Act, fields: dict[str, Any], reason: str
) -> None:
    assert reason in why_not(act, issue(**fields), target="C2")


def test_moving_an_issue_to_its_own_channel_is_refused() -> None:
    assert why_not(Act.MOVE, issue(), target="C1") == "issue i-1 is in C1 already"


@pytest.mark.parametrize(
    ("act", "fields"),
    [
        (Act.ACKNOWLEDGE, {}),
        (Act.UNACKNOWLEDGE, {"acknowledged_by": {"name": "bo"}}),
        (Act.RESOLVE, {}),
        (Act.REOPEN, {"status": "resolved"}),
        (Act.SILENCE, {"status": "resolved"}),
        (Act.MOVE, {}),
    ],
)
def test_an_act_that_applies_has_no_reason_against_it(act: Act, fields: dict[str, Any]) -> None:
    assert why_not(act, issue(**fields), target="C2") == ""


def test_an_act_becomes_the_interaction_slack_would_write_with_the_operator_as_actor() -> None:
    move = MoveBody(channel_id="c2", reason="wrong team")
    written = interaction(Act.MOVE, issue(), ANA, interaction_id="web/1", at=NOW, move=move)
    assert written.kind is InteractionKind.MOVED
    assert (written.channel_id, written.correlation_id, written.issue_id) == ("C1", "disk", "i-1")
    assert (written.target_channel_id, written.reason) == ("C2", "wrong team")
    assert written.actor.model_dump() == {"kind": "api", "id": "web:ana", "name": "web:ana"}


def test_silencing_an_issue_sets_a_silence_of_its_channel_and_correlation_id() -> None:
    body = SilenceBody(duration_seconds=1800, comment="disk swap")
    silence = issue_silence(issue(), ANA, body, silence_id="s-1", now=NOW)
    assert [(m.name, m.value) for m in silence.matchers] == [
        ("slackChannelId", "C1"),
        ("correlationId", "disk"),
    ]
    assert (silence.starts_at, silence.ends_at) == (NOW, NOW + timedelta(minutes=30))
    assert (silence.created_by, silence.comment) == ("web:ana", "disk swap")


@pytest.mark.parametrize(
    "body",
    [{}, {"duration_seconds": 60, "ends_at": NOW.isoformat()}, {"duration_seconds": 0}],
)
def test_a_silence_needs_exactly_one_positive_end(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SilenceBody.model_validate(body)
