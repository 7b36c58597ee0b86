"""Webhook buttons: which press is which, who may press, what the target receives, and the
issue's record of the call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.alert import Alert
from domain.fold import (
    AlertReceived,
    FoldOutcome,
    InteractionReceived,
    fold_alert,
    fold_interaction,
)
from domain.interactions import Actor, Interaction, InteractionKind, WebhookResult
from domain.issue_state import IssueState
from domain.records import InputPosition
from gateways.slack.webhook_clicks import WebhookClick, may_press, read_click, request_body

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def press(action_id: str = "alertfold:webhook:restart", **user: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0BOB", "username": "bob", "name": "Bob", **user},
        "container": {"channel_id": "C123", "message_ts": "1795426000.000100"},
        "actions": [{"action_id": action_id, "value": "issue-1", "action_ts": "1795426100.5"}],
    }


def test_a_webhook_button_press_is_read_with_who_where_and_when() -> None:
    click = read_click("interactive", press(), T0)
    assert click == WebhookClick(
        webhook_id="restart",
        issue_id="issue-1",
        channel_id="C123",
        user_id="U0BOB",
        user_name="Bob",
        message_ts="1795426000.000100",
        action_ts="1795426100.5",
        at=datetime.fromtimestamp(1795426100.5, UTC),
    )
    assert click.interaction_id == "webhook/U0BOB/1795426100.5"


@pytest.mark.parametrize("action_id", ["alertfold:acknowledge", "other:webhook:x", ""])
def test_other_buttons_are_not_webhook_presses(action_id: str) -> None:
    assert read_click("interactive", press(action_id), T0) is None
    assert read_click("events_api", press(), T0) is None


class Admins:
    """Who is admin, as the permissions file and user groups would say."""

    def __init__(self, global_admins: set[str], channel_admins: set[str]) -> None:
        self.global_admins = global_admins
        self.channel_admins = channel_admins | global_admins

    async def is_admin(self, user_id: str, channel_id: str) -> bool:
        return user_id in self.channel_admins

    async def is_global_admin(self, user_id: str) -> bool:
        return user_id in self.global_admins


@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        ("", {"U0GLOBAL"}),
        ("global_admins", {"U0GLOBAL"}),
        ("channel_admins", {"U0GLOBAL", "U0CHAN"}),
        ("channel_members", {"U0GLOBAL", "U0CHAN", "U0ANY"}),
    ],
)
async def test_the_access_level_says_who_may_press(level: str, allowed: set[str]) -> None:
    admins = Admins({"U0GLOBAL"}, {"U0CHAN"})
    hook = {"id": "restart", "accessLevel": level}
    pressed = {u for u in ("U0GLOBAL", "U0CHAN", "U0ANY") if await may_press(admins, hook, u, "C")}
    assert pressed == allowed


def test_the_target_receives_slack_managers_body_with_the_inputs_initial_values() -> None:
    click = read_click("interactive", press(), T0)
    assert click is not None
    hook = {
        "id": "restart",
        "plainTextInput": [{"id": "reason", "initialValue": "disk full"}],
        "checkboxInput": [
            {
                "id": "steps",
                "options": [
                    {"value": "drain", "selected": True},
                    {"value": "page", "selected": False},
                ],
            }
        ],
    }
    assert request_body(click, hook, {"service": "db"}) == {
        "id": "restart",
        "userId": "U0BOB",
        "userRealName": "Bob",
        "channelId": "C123",
        "messageId": "1795426000.000100",
        "timestamp": "2026-11-23T09:28:20.500000+00:00",
        "plainTextInput": {"reason": "disk full"},
        "checkboxInput": {"steps": ["drain"]},
        "payload": {"service": "db"},
    }


# -- the record on the issue -------------------------------------------------------------


def opened() -> IssueState:
    alert = Alert.from_json_obj(
        {
            "slackChannelId": "C123",
            "correlationId": "db",
            "header": "Database down",
            "timestamp": T0.isoformat(),
            "issueFollowUpEnabled": True,
        }
    )
    position = InputPosition(topic="alerts", partition=0, offset=0)
    state = fold_alert(None, AlertReceived(alert, position, T0)).state
    assert state is not None
    return state


def called(state: IssueState, result: WebhookResult | None, offset: int = 1) -> Any:
    interaction = Interaction(
        interaction_id="webhook/U0BOB/1795426100.5",
        kind=InteractionKind.WEBHOOK_CALLED,
        channel_id="C123",
        correlation_id="db",
        issue_id=state.id,
        at=T0 + timedelta(minutes=1),
        actor=Actor(kind="slack_user", id="U0BOB", name="Bob"),
        webhook=result,
    )
    position = InputPosition(topic="interactions", partition=0, offset=offset)
    return fold_interaction(state, InteractionReceived(interaction, position))


def test_a_webhook_call_is_recorded_on_the_issue_without_changing_it() -> None:
    before = opened()
    result = WebhookResult(webhook_id="restart", ok=False, status_code=503, error="HTTP 503")
    folded = called(before, result)
    assert [e.type for e in folded.events] == ["WebhookCalled"]
    assert folded.events[0].data["webhook"] == {
        "webhook_id": "restart",
        "ok": False,
        "status_code": 503,
        "error": "HTTP 503",
    }
    assert folded.events[0].data["actor"]["id"] == "U0BOB"
    assert folded.state.status == before.status == "open"
    assert called(folded.state, result, offset=2).outcome is FoldOutcome.IGNORED_REFUSED


def test_a_webhook_call_without_its_result_changes_nothing() -> None:
    assert called(opened(), None).outcome is FoldOutcome.IGNORED_REFUSED
