"""Reading Slack's payloads for modals, shortcuts, option buttons and the silence menu."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from domain.interactions import Actor
from gateways.slack.blocks import render_issue
from gateways.slack.current_message import Clicked
from gateways.slack.option_buttons import option_blocks
from gateways.slack.socket_requests import ReactionNames, read_request
from gateways.slack.surface_requests import (
    Modal,
    OpenModal,
    ShowOptions,
    SilenceChosen,
    ViewSubmitted,
    read_surface_request,
    view_values,
)
from gateways.slack.webhook_clicks import read_click
from harness.stories import issue_event

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USER = {"id": "U0ALICE", "username": "alice", "name": "alice"}


def button(action_id: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "trigger_id": "1.2.trigger",
        "user": USER,
        "container": {"channel_id": "C1", "message_ts": "1795426000.000100"},
        "actions": [{"action_id": action_id, "value": value, "action_ts": "1795426100.5", **extra}],
    }


def test_move_and_details_buttons_open_their_modal_for_the_issue() -> None:
    for action_id, modal in (("alertfold:move", Modal.MOVE), ("alertfold:details", Modal.DETAILS)):
        request = read_surface_request("interactive", button(action_id, "issue-1"), NOW)
        assert request == OpenModal(
            modal=modal,
            trigger_id="1.2.trigger",
            user=Actor(kind="slack_user", id="U0ALICE", name="alice"),
            channel_id="C1",
            issue_id="issue-1",
            message_ts="1795426000.000100",
            where=Clicked(channel_id="C1", message_ts="1795426000.000100"),
        )


def test_a_button_without_a_trigger_opens_nothing() -> None:
    payload = button("alertfold:move", "issue-1")
    del payload["trigger_id"]
    assert read_surface_request("interactive", payload, NOW) is None


def test_the_silence_menu_reads_issue_and_seconds_from_the_chosen_option() -> None:
    payload = button("alertfold:silence", "", selected_option={"value": "issue-1|3600"})
    request = read_surface_request("interactive", payload, NOW)
    assert isinstance(request, SilenceChosen)
    assert (request.issue_id, request.seconds, request.channel_id) == ("issue-1", 3600, "C1")
    assert request.at == datetime.fromtimestamp(1795426100.5, UTC)


def test_a_malformed_silence_option_is_not_a_request() -> None:
    for value in ("issue-1", "issue-1|soon", "|3600", "issue-1|0"):
        payload = button("alertfold:silence", "", selected_option={"value": value})
        assert read_surface_request("interactive", payload, NOW) is None


def test_message_shortcuts_name_the_message_and_global_shortcut_opens_an_issue() -> None:
    message_action = {
        "type": "message_action",
        "callback_id": "alertfold_move",
        "trigger_id": "3.4.trigger",
        "user": USER,
        "channel": {"id": "C1", "name": "ops"},
        "message": {"ts": "1795426000.000100", "text": "Database down"},
    }
    moved = read_surface_request("interactive", message_action, NOW)
    assert isinstance(moved, OpenModal)
    assert (moved.modal, moved.via_shortcut, moved.channel_id, moved.message_ts) == (
        Modal.MOVE,
        True,
        "C1",
        "1795426000.000100",
    )
    assert moved.issue_id is None
    shortcut = {"type": "shortcut", "callback_id": "alertfold_open_issue", "trigger_id": "5.6.t"}
    opened = read_surface_request("interactive", {**shortcut, "user": USER}, NOW)
    assert isinstance(opened, OpenModal) and opened.modal is Modal.OPEN_ISSUE


def test_a_global_shortcut_with_a_message_shortcut_id_is_not_taken() -> None:
    payload = {"type": "shortcut", "callback_id": "alertfold_move", "trigger_id": "t", "user": USER}
    assert read_surface_request("interactive", payload, NOW) is None


def test_view_submission_flattens_inputs_to_block_ids() -> None:
    payload = {
        "type": "view_submission",
        "user": USER,
        "view": {
            "id": "V0001",
            "callback_id": "alertfold_move",
            "private_metadata": json.dumps({"issue_id": "issue-1"}),
            "state": {
                "values": {
                    "target": {
                        "channel": {"type": "conversations_select", "selected_conversation": "C2"}
                    },
                    "reason": {"reason": {"type": "plain_text_input", "value": "db team"}},
                }
            },
        },
    }
    request = read_surface_request("interactive", payload, NOW)
    assert request == ViewSubmitted(
        callback_id="alertfold_move",
        view_id="V0001",
        private_metadata={"issue_id": "issue-1"},
        values={"target": "C2", "reason": "db team"},
        user=Actor(kind="slack_user", id="U0ALICE", name="alice"),
        at=NOW,
    )


def test_view_values_read_selects_and_leave_empty_inputs_none() -> None:
    state = {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "panic"}}},
        "body": {"body": {"type": "plain_text_input", "value": None}},
    }
    assert view_values(state) == {"severity": "panic", "body": None}


def test_broken_private_metadata_reads_as_none_given() -> None:
    payload = {
        "type": "view_submission",
        "user": USER,
        "view": {"id": "V1", "callback_id": "alertfold_move", "private_metadata": "{oops"},
    }
    request = read_surface_request("interactive", payload, NOW)
    assert isinstance(request, ViewSubmitted) and request.private_metadata == {}


def test_information_source_reaction_asks_for_the_option_buttons() -> None:
    event = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "information_source",
        "item": {"type": "message", "channel": "C1", "ts": "1795426000.000100"},
    }
    request = read_surface_request("events_api", {"event": event}, NOW)
    assert request == ShowOptions("C1", "1795426000.000100", Actor(kind="slack_user", id="U0ALICE"))
    removed = {**event, "type": "reaction_removed"}
    assert read_surface_request("events_api", {"event": removed}, NOW) is None


def test_other_views_and_requests_are_not_alertfolds() -> None:
    other_view = {"type": "view_submission", "user": USER, "view": {"callback_id": "someone"}}
    assert read_surface_request("interactive", other_view, NOW) is None
    assert read_surface_request("interactive", {"type": "view_closed"}, NOW) is None
    assert read_surface_request("slash_commands", {"text": "list"}, NOW) is None


def test_every_control_on_an_issue_message_is_read_back_by_the_gateway() -> None:
    """The presenter renders and the gateway reads the same action ids (`actions`)."""
    issue = issue_event().issue
    hooks = [{"id": "restart", "buttonText": "Restart", "displayMode": "always"}]
    issue = issue.model_copy(update={"last_alert": {**issue.last_alert, "webhooks": hooks}})
    for state in (issue, issue.model_copy(update={"status": "resolved"})):
        blocks = [b for b in render_issue(state).blocks if b["type"] == "actions"]
        for element in (e for block in blocks for e in block["elements"]):
            payload = button(element["action_id"], state.id)
            if element["type"] == "static_select":
                payload["actions"][0]["selected_option"] = element["options"][0]
            read = read_request("interactive", payload, ReactionNames(), NOW)
            surface = read_surface_request("interactive", payload, NOW)
            click = read_click("interactive", payload, NOW)
            assert read or surface or click, element["action_id"]


def test_option_buttons_render_the_same_controls_as_the_message() -> None:
    issue = issue_event().issue
    rendered = [b for b in render_issue(issue).blocks if b["type"] == "actions"]
    on_message = {e["action_id"]: e for block in rendered for e in block["elements"]}
    view = {"id": issue.id, "status": "open", "header": issue.header}
    for element in option_blocks(view)[1]["elements"]:
        assert element == on_message[element["action_id"]]
