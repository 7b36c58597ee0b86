"""Slack requests → interactions: who may do what, and what people are told."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.permissions import InvalidPermissions, SlackPermissions
from gateways.slack.socket_gateway import SlackInteractions

ISSUE = {
    "id": "issue-1",
    "channel_id": "C1",
    "correlation_id": "db",
    "status": "open",
    "severity": "error",
    "header": "Database down",
    "slack_ts": "1795426000.000100",
}
ADMINS = SlackPermissions.from_json_obj({"global_admins": ["UADMIN"]})


@dataclass
class Finder:
    issues: list[dict[str, Any]] = field(default_factory=lambda: [dict(ISSUE)])

    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        return next((i for i in self.issues if i["id"] == issue_id), None)

    def issue_by_slack_ts(self, channel_id: str, slack_ts: str) -> dict[str, Any] | None:
        return next(
            (i for i in self.issues if (i["channel_id"], i["slack_ts"]) == (channel_id, slack_ts)),
            None,
        )

    def list_issues(self, *, channel_id: str, status: str, limit: int) -> list[dict[str, Any]]:
        return [i for i in self.issues if i["channel_id"] == channel_id][:limit]


@dataclass
class Publisher:
    published: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    async def publish(self, records: Sequence[tuple[str, bytes]]) -> None:
        if self.down:
            raise BrokerUnavailable("KafkaConnectionError")
        self.published.extend(json.loads(value) for _, value in records)


@dataclass
class Clock:
    now: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def told() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def publisher() -> Publisher:
    return Publisher()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def finder() -> Finder:
    return Finder()


@pytest.fixture
def slack(
    finder: Finder, publisher: Publisher, told: list[tuple[str, str, str]], clock: Clock
) -> SlackInteractions:
    async def tell(channel: str, user: str, text: str) -> None:
        told.append((channel, user, text))

    return SlackInteractions(
        finder=finder, publisher=publisher, permissions=ADMINS, tell=tell, clock=clock
    )


def reaction(
    name: str, user: str = "UADMIN", added: bool = True, ts: str = ISSUE["slack_ts"]
) -> dict[str, Any]:
    return {
        "event_id": f"Ev-{name}-{user}-{added}",
        "event": {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": "C1", "ts": ts},
            "event_ts": "1795426100.000200",
        },
    }


def button(action_id: str, user: str = "UADMIN") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "ann", "name": "Ann"},
        "container": {"channel_id": "C1", "message_ts": ISSUE["slack_ts"]},
        "actions": [{"action_id": action_id, "value": "issue-1", "action_ts": "1795426200.1"}],
    }


async def test_admin_check_mark_resolves_the_issue_behind_the_message(
    slack: SlackInteractions, publisher: Publisher
) -> None:
    assert await slack.handle("events_api", reaction("white_check_mark")) is None
    [interaction] = publisher.published
    assert interaction["kind"] == "resolved"
    assert interaction["issue_id"] == "issue-1" and interaction["correlation_id"] == "db"
    assert interaction["interaction_id"] == "event/Ev-white_check_mark-UADMIN-True"
    assert interaction["actor"]["id"] == "UADMIN"


async def test_removing_the_check_mark_of_an_open_issue_explains_instead(
    slack: SlackInteractions, publisher: Publisher, told: list[tuple[str, str, str]]
) -> None:
    await slack.handle("events_api", reaction("white_check_mark", added=False))
    assert publisher.published == []
    assert told == [("C1", "UADMIN", "This issue is not resolved.")]


async def test_anyone_may_say_they_investigate(
    slack: SlackInteractions, publisher: Publisher
) -> None:
    await slack.handle("events_api", reaction("eyes", user="USOMEONE"))
    assert publisher.published[0]["kind"] == "investigating"


async def test_a_refused_user_is_told_once_per_half_hour(
    slack: SlackInteractions,
    publisher: Publisher,
    told: list[tuple[str, str, str]],
    clock: Clock,
) -> None:
    for _ in range(3):
        await slack.handle("events_api", reaction("mask", user="USOMEONE"))
    assert publisher.published == [] and len(told) == 1
    assert "Only alertfold admins" in told[0][2]
    clock.now += timedelta(minutes=31)
    await slack.handle("events_api", reaction("mask", user="USOMEONE"))
    assert len(told) == 2


async def test_reactions_on_other_messages_are_not_ours(
    slack: SlackInteractions, publisher: Publisher, told: list[tuple[str, str, str]]
) -> None:
    await slack.handle("events_api", reaction("white_check_mark", ts="1.2"))
    await slack.handle("events_api", reaction("thumbsup"))
    assert publisher.published == [] and told == []


async def test_acknowledge_button_names_who_pressed_it(
    slack: SlackInteractions, publisher: Publisher
) -> None:
    await slack.handle("interactive", button("alertfold:acknowledge", user="UANYONE"))
    [interaction] = publisher.published
    assert interaction["kind"] == "acknowledged"
    assert interaction["actor"] == {"kind": "slack_user", "id": "UANYONE", "name": "Ann"}


async def test_button_on_a_gone_issue_explains(
    slack: SlackInteractions, finder: Finder, told: list[tuple[str, str, str]]
) -> None:
    finder.issues.clear()
    await slack.handle("interactive", button("alertfold:resolve"))
    assert told == [("C1", "UADMIN", "That issue is no longer open here.")]


async def test_when_kafka_is_down_the_request_is_not_acknowledged(
    slack: SlackInteractions, publisher: Publisher
) -> None:
    publisher.down = True
    with pytest.raises(BrokerUnavailable):
        await slack.handle("events_api", reaction("white_check_mark"))


async def test_slash_command_lists_and_resolves(
    slack: SlackInteractions, publisher: Publisher
) -> None:
    listing = await slack.handle("slash_commands", {"channel_id": "C1", "user_id": "U", "text": ""})
    assert listing is not None and "issue-1" in listing["text"]
    done = await slack.handle(
        "slash_commands", {"channel_id": "C1", "user_id": "UADMIN", "text": "resolve issue-1"}
    )
    assert done == {"response_type": "ephemeral", "text": "Resolving `issue-1`."}
    assert publisher.published[0]["kind"] == "resolved"
    helped = await slack.handle(
        "slash_commands", {"channel_id": "C1", "user_id": "U", "text": "help"}
    )
    assert helped is not None and "/alertfold list" in helped["text"]


def test_without_admins_everyone_is_admin() -> None:
    assert SlackPermissions().is_admin("U1", "C1")
    channel = SlackPermissions.from_json_obj({"channels": {"c1": {"admins": ["U2"]}}})
    assert channel.is_admin("U2", "C1") and not channel.is_admin("U1", "C1")


@pytest.mark.parametrize(
    "obj",
    [[], {"global_admin": []}, {"global_admins": "U1"}, {"channels": {"C1": {"admins": [3]}}}],
)
def test_bad_permissions_files_are_refused_with_a_reason(obj: Any) -> None:
    with pytest.raises(InvalidPermissions):
        SlackPermissions.from_json_obj(obj)
