"""Modals, shortcuts, option buttons and admin user groups, end to end over Socket Mode.

`alertfold interactions` (real slack_sdk Socket Mode and Web API clients) talks to the Socket
Mode stand-in, which passes Web API calls it does not answer itself (`views.open`,
`conversations.info`, `usergroups.users.list`) to the Web API stand-in; the worker,
projector and API run as processes on the session broker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.silences import Silence
from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_surfaces import OpenedView
from harness.slack_server_workspace import SlackLimits
from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from harness.waiting import eventually
from tests.support.product import Product
from tests.support.slack_product import message_posted, running_slack_product

pytestmark = pytest.mark.integration

SLACK_TS = "1795426000.000100"
ADMIN = {"id": "U0ADMIN", "username": "ada", "name": "ada"}
GROUP_CHANNEL = "C0GROUPS"  # its admins are the members of user group S0DB
PERMISSIONS = {
    "global_admins": ["U0ADMIN"],
    "channels": {GROUP_CHANNEL: {"admin_user_groups": ["S0DB"]}},
}


@pytest.fixture(scope="module")
def web_api() -> Iterator[SlackWebApiServer]:
    with running_slack_server({GROUP_CHANNEL}, limits=SlackLimits.none()) as server:
        server.surfaces.user_groups["S0DB"] = ["U0GROUPIE"]
        yield server


@pytest.fixture(scope="module")
def slack(web_api: SlackWebApiServer) -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in(web_api) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
    slack: SocketModeStandIn,
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("modals")
    permissions = workdir / "permissions.json"
    permissions.write_text(json.dumps(PERMISSIONS))
    with running_slack_product(
        kafka_bootstrap_servers,
        workdir,
        slack,
        ALERTFOLD_SLACK_PERMISSIONS_FILE=str(permissions),
    ) as product:
        yield product


def new_channel(web_api: SlackWebApiServer) -> str:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    with web_api.workspace.lock:
        web_api.workspace.channels[channel] = {}
    return channel


def posted_issue(
    product: Product, channel: str, correlation_id: str = "db", **alert: Any
) -> dict[str, Any]:
    """An open issue whose Slack message is known, as after the presenter posted it."""
    body = {"slackChannelId": channel, "correlationId": correlation_id, "header": "Database down"}
    assert product.post("/alert", {**body, **alert}).status_code == 202
    issue = product.wait_for_issue(channel_id=channel, status="open")
    return message_posted(product, issue, SLACK_TS)


def click(web_api: SlackWebApiServer, action_id: str, issue: dict[str, Any], user: Any) -> Any:
    return {
        "type": "block_actions",
        "trigger_id": web_api.surfaces.trigger(),
        "user": user,
        "container": {"channel_id": issue["channel_id"], "message_ts": SLACK_TS},
        "actions": [{"action_id": action_id, "value": issue["id"], "action_ts": "1795426100.1"}],
    }


def reaction(channel: str, name: str, user: str) -> dict[str, Any]:
    return {
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": channel, "ts": SLACK_TS},
            "event_ts": "1795426100.000200",
        },
    }


def opened_view(web_api: SlackWebApiServer, trigger_id: str) -> OpenedView:
    def probe() -> OpenedView | None:
        return next((v for v in web_api.surfaces.views if v.trigger_id == trigger_id), None)

    return eventually(probe, timeout=30, what=f"a modal opened with trigger {trigger_id}")


def submit(
    slack: SocketModeStandIn, view: OpenedView, values: dict[str, Any], user: Any = ADMIN
) -> dict[str, Any]:
    """Submit the modal as Slack would; returns the acknowledgement (the modal's answer)."""
    payload = {
        "type": "view_submission",
        "user": user,
        "view": {**view.as_json(), "state": {"values": values}},
    }
    return slack.wait_for_ack(slack.send("interactive", payload))


def move_values(target: str, reason: str) -> dict[str, Any]:
    return {
        "target": {"channel": {"type": "conversations_select", "selected_conversation": target}},
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


def moves_on_kafka(product: Product, issue_id: str) -> list[dict[str, Any]]:
    values = [json.loads(r.value) for r in product.records("interactions")]
    return [v for v in values if v.get("kind") == "moved" and v.get("issue_id") == issue_id]


def ephemerals_to(slack: SocketModeStandIn, user: str, channel: str) -> list[dict[str, Any]]:
    return [e for e in slack.ephemerals if e.get("user") == user and e.get("channel") == channel]


def test_move_modal_puts_a_move_with_target_and_reason_on_the_issues_channel(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    source, target = new_channel(web_api), new_channel(web_api)
    issue = posted_issue(product, source)
    payload = click(web_api, "alertfold:move", issue, ADMIN)
    slack.wait_for_ack(slack.send("interactive", payload))
    view = opened_view(web_api, payload["trigger_id"])
    assert view.view["callback_id"] == "alertfold_move"

    answer = submit(slack, view, move_values(target, "the database team owns this"))

    assert "payload" not in answer or not answer["payload"]  # the modal closes
    move = eventually(lambda: moves_on_kafka(product, issue["id"]), what="the move on Kafka")[0]
    assert (move["channel_id"], move["target_channel_id"]) == (source, target)
    assert move["reason"] == "the database team owns this"
    assert move["actor"] == {"kind": "slack_user", "id": "U0ADMIN", "name": "ada"}


def test_after_a_modal_move_the_issue_is_in_the_new_channel_and_the_next_alert_follows_it(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    source, target = new_channel(web_api), new_channel(web_api)
    issue = posted_issue(product, source, correlation_id="payments")
    payload = click(web_api, "alertfold:move", issue, ADMIN)
    slack.wait_for_ack(slack.send("interactive", payload))
    submit(slack, opened_view(web_api, payload["trigger_id"]), move_values(target, "theirs"))
    product.wait_for_issue(id=issue["id"], channel_id=target)

    again = {"slackChannelId": source, "correlationId": "payments", "header": "Database down"}
    assert product.post("/alert", again).status_code == 202

    followed = product.wait_for_issue(id=issue["id"], channel_id=target, alert_count=2)
    assert followed["status"] == "open"
    assert product.issues(channel_id=source, status="open") == []


def test_a_move_where_the_bot_is_not_a_member_is_answered_in_the_modal(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    source, target = new_channel(web_api), new_channel(web_api)
    web_api.surfaces.outside.add(target)
    issue = posted_issue(product, source)
    payload = click(web_api, "alertfold:move", issue, ADMIN)
    slack.wait_for_ack(slack.send("interactive", payload))

    answer = submit(slack, opened_view(web_api, payload["trigger_id"]), move_values(target, ""))

    assert answer["payload"]["response_action"] == "errors"
    assert "Invite alertfold" in answer["payload"]["errors"]["target"]
    assert moves_on_kafka(product, issue["id"]) == []


def test_details_shortcut_opens_the_issue_read_only(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    channel = new_channel(web_api)
    issue = posted_issue(product, channel, correlation_id="disk")
    trigger = web_api.surfaces.trigger()
    shortcut = {
        "type": "message_action",
        "callback_id": "alertfold_details",
        "trigger_id": trigger,
        "user": {"id": "U0ANYONE", "name": "anyone"},
        "channel": {"id": channel},
        "message": {"ts": SLACK_TS},
    }
    slack.wait_for_ack(slack.send("interactive", shortcut))

    view = opened_view(web_api, trigger)
    shown = json.dumps(view.view)
    assert issue["id"] in shown and "`disk`" in shown and "Database down" in shown
    assert f"{product.api_url}/ui/issues/{issue['id']}|" in shown
    assert "submit" not in view.view


def test_refused_option_buttons_are_explained_once_and_admins_get_them(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    channel = new_channel(web_api)
    posted_issue(product, channel)
    for _ in range(3):
        envelope = slack.send("events_api", reaction(channel, "information_source", "U0MALLORY"))
        slack.wait_for_ack(envelope)
    slack.wait_for_ack(slack.send("events_api", reaction(channel, "information_source", "U0ADMIN")))

    refusals = ephemerals_to(slack, "U0MALLORY", channel)
    assert len(refusals) == 1 and "admins" in refusals[0]["text"]
    (options,) = ephemerals_to(slack, "U0ADMIN", channel)
    actions = [e["action_id"] for e in options["blocks"][1]["elements"]]
    assert actions == ["alertfold:move", "alertfold:details", "alertfold:silence"]


def test_a_member_of_the_channels_admin_user_group_may_resolve(
    product: Product, slack: SocketModeStandIn
) -> None:
    posted_issue(product, GROUP_CHANNEL)
    envelope = slack.send("events_api", reaction(GROUP_CHANNEL, "white_check_mark", "U0GROUPIE"))
    slack.wait_for_ack(envelope)
    resolved = product.wait_for_issue(channel_id=GROUP_CHANNEL, status="resolved")
    assert resolved["resolved_by"]["id"] == "U0GROUPIE"
    assert ephemerals_to(slack, "U0GROUPIE", GROUP_CHANNEL) == []


def test_global_shortcut_opens_an_issue_by_hand(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    channel = new_channel(web_api)
    trigger = web_api.surfaces.trigger()
    shortcut = {"type": "shortcut", "callback_id": "alertfold_open_issue", "trigger_id": trigger}
    slack.wait_for_ack(slack.send("interactive", {**shortcut, "user": ADMIN}))
    values = {
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
        "header": {"header": {"type": "plain_text_input", "value": "Checkout is slow"}},
        "body": {"body": {"type": "plain_text_input", "value": "reported by support"}},
        "severity": {
            "severity": {"type": "static_select", "selected_option": {"value": "warning"}}
        },
        "auto_resolve": {"auto_resolve": {"type": "plain_text_input", "value": None}},
    }

    answer = submit(slack, opened_view(web_api, trigger), values)

    assert not answer.get("payload")
    issue = product.wait_for_issue(channel_id=channel, header="Checkout is slow")
    assert issue["severity"] == "warning"
    assert issue["correlation_id"].startswith("manual-")
    assert issue["last_alert"]["author"] == "ada"


def test_an_expired_trigger_opens_no_modal_and_the_envelope_is_still_acknowledged(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    channel = new_channel(web_api)
    issue = posted_issue(product, channel)
    payload = {**click(web_api, "alertfold:details", issue, ADMIN)}
    payload["trigger_id"] = web_api.surfaces.trigger(valid_for=-1)
    slack.wait_for_ack(slack.send("interactive", payload))
    refused = [c for c in web_api.calls("views.open") if c.error == "expired_trigger_id"]
    assert [c.payload["trigger_id"] for c in refused] == [payload["trigger_id"]]
    product.check_alive()


def silences_on_kafka(product: Product) -> list[dict[str, Any]]:
    values = [json.loads(r.value) for r in product.records("interactions")]
    return [v["silence"] for v in values if v.get("type") == "silence"]


def test_silence_menu_sets_a_silence_of_the_issue_and_confirms_it(
    product: Product, slack: SocketModeStandIn, web_api: SlackWebApiServer
) -> None:
    channel = new_channel(web_api)
    issue = posted_issue(product, channel, correlation_id="queue")
    for user in ({"id": "U0MALLORY", "name": "mallory"}, ADMIN):
        payload = click(web_api, "alertfold:silence", issue, user)
        payload["actions"][0]["selected_option"] = {"value": f"{issue['id']}|14400"}
        slack.wait_for_ack(slack.send("interactive", payload))

    mine = [s for s in silences_on_kafka(product) if s["comment"] == "silenced from Slack"]
    silence = Silence.model_validate(mine[0])
    assert {s["id"] for s in mine} == {silence.id}  # one silence, a copy per partition
    assert silence.matches({"slackChannelId": channel, "correlationId": "queue"})
    assert not silence.matches({"slackChannelId": channel, "correlationId": "other"})
    assert (silence.ends_at - silence.starts_at).total_seconds() == 14400
    assert silence.created_by == "ada"
    assert "admins" in ephemerals_to(slack, "U0MALLORY", channel)[0]["text"]
    assert "Silenced until" in ephemerals_to(slack, "U0ADMIN", channel)[0]["text"]
