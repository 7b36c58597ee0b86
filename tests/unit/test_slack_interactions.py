"""Slack requests → interactions: who may do what, on which message, and what people are told."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.current_message import (
    NOT_ITS_MESSAGE,
    IssueMessages,
    IssueNotInViewYet,
    options_block_id,
)
from gateways.slack.interactions import SlackInteractions
from gateways.slack.permissions import InvalidPermissions, SlackPermissions

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


@dataclass
class Metadata:
    """What Slack's messages say in their metadata: (channel, ts) → issue id."""

    named: dict[tuple[str, str], str] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def issue_named_by(self, channel_id: str, ts: str) -> str | None:
        self.asked.append((channel_id, ts))
        return self.named.get((channel_id, ts))


@pytest.fixture
def metadata() -> Metadata:
    return Metadata()


def interactions(
    finder: Finder,
    publisher: Publisher,
    told: list[tuple[str, str, str]],
    clock: Clock,
    permissions: SlackPermissions = ADMINS,
    metadata: Metadata | None = None,
) -> SlackInteractions:
    async def tell(channel: str, user: str, text: str) -> None:
        told.append((channel, user, text))

    return SlackInteractions(
        finder=finder,
        publisher=publisher,
        permissions=permissions,
        tell=tell,
        clock=clock,
        messages=IssueMessages(finder, metadata),
    )


@pytest.fixture
def slack(
    finder: Finder,
    publisher: Publisher,
    told: list[tuple[str, str, str]],
    clock: Clock,
    metadata: Metadata,
) -> SlackInteractions:
    return interactions(finder, publisher, told, clock, metadata=metadata)


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


def button(
    action_id: str,
    user: str = "UADMIN",
    channel: str = "C1",
    ts: str = ISSUE["slack_ts"],
    **container: Any,
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "ann", "name": "Ann"},
        "container": {"channel_id": channel, "message_ts": ts, **container},
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


async def test_a_check_mark_seen_again_after_it_resolved_the_issue_tells_nothing(
    slack: SlackInteractions,
    finder: Finder,
    publisher: Publisher,
    told: list[tuple[str, str, str]],
) -> None:
    finder.issues[0].update(status="resolved", resolved_by={"kind": "slack_user", "id": "UADMIN"})
    await slack.handle("events_api", reaction("white_check_mark"))
    assert (told, publisher.published) == ([], [])
    await slack.handle("events_api", reaction("white_check_mark", user="UOTHER"))
    assert told == [("C1", "UOTHER", "This issue is resolved already.")]


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


async def test_a_resolve_command_is_identified_by_its_invocation_not_the_clock(
    slack: SlackInteractions, publisher: Publisher, clock: Clock
) -> None:
    command = {"channel_id": "C1", "user_id": "UADMIN", "text": "resolve issue-1"}
    for _ in range(2):  # the same invocation handled twice (two gateways, say)
        await slack.handle("slash_commands", {**command, "trigger_id": "13345224609.738474920"})
        clock.now += timedelta(seconds=1)
    ids = [p["interaction_id"] for p in publisher.published]
    assert ids == ["command/13345224609.738474920"] * 2


# -- which message a button or reaction acts from ----------------------------------------


async def test_a_button_left_in_another_channel_does_not_act_there_and_says_so(
    finder: Finder, publisher: Publisher, told: list[tuple[str, str, str]], clock: Clock
) -> None:
    """The issue moved from C2 to C1; its old message in C2, where UC2ADMIN is an admin,
    still shows a Resolve button naming it."""
    permissions = SlackPermissions.from_json_obj(
        {"channels": {"C1": {"admins": ["UC1ADMIN"]}, "C2": {"admins": ["UC2ADMIN"]}}}
    )
    slack = interactions(finder, publisher, told, clock, permissions)
    await slack.handle("interactive", button("alertfold:resolve", "UC2ADMIN", channel="C2"))
    assert publisher.published == []
    assert told == [("C2", "UC2ADMIN", NOT_ITS_MESSAGE)]


async def test_a_button_is_judged_by_the_admins_of_the_issues_channel(
    finder: Finder, publisher: Publisher, told: list[tuple[str, str, str]], clock: Clock
) -> None:
    permissions = SlackPermissions.from_json_obj(
        {"channels": {"C1": {"admins": ["UC1ADMIN"]}, "C2": {"admins": ["UC2ADMIN"]}}}
    )
    slack = interactions(finder, publisher, told, clock, permissions)
    await slack.handle("interactive", button("alertfold:resolve", "UC2ADMIN"))
    assert publisher.published == [] and "Only alertfold admins" in told[0][2]
    await slack.handle("interactive", button("alertfold:resolve", "UC1ADMIN"))
    assert [i["kind"] for i in publisher.published] == ["resolved"]


async def test_a_button_on_an_older_message_of_the_issue_does_not_act(
    slack: SlackInteractions, publisher: Publisher, told: list[tuple[str, str, str]]
) -> None:
    """The message was posted again (escalation); the first one kept its buttons."""
    await slack.handle("interactive", button("alertfold:resolve", ts="1795425000.000100"))
    assert publisher.published == []
    assert told == [("C1", "UADMIN", NOT_ITS_MESSAGE)]


async def test_a_button_on_a_message_newer_than_the_view_acts_when_its_metadata_names_the_issue(
    slack: SlackInteractions, publisher: Publisher, metadata: Metadata
) -> None:
    newer = "1795426500.000100"
    await slack.handle("interactive", button("alertfold:resolve", ts=newer))
    assert publisher.published == []
    metadata.named[("C1", newer)] = "issue-1"
    await slack.handle("interactive", button("alertfold:resolve", ts=newer))
    assert [i["kind"] for i in publisher.published] == ["resolved"]


async def test_the_issues_own_option_buttons_act_and_other_ephemeral_buttons_not(
    slack: SlackInteractions, publisher: Publisher, told: list[tuple[str, str, str]]
) -> None:
    options = button("alertfold:acknowledge", ts="1795426900.000900", is_ephemeral=True)
    options["actions"][0]["block_id"] = options_block_id("issue-2")
    await slack.handle("interactive", options)
    assert publisher.published == [] and told[0][2] == NOT_ITS_MESSAGE
    options["actions"][0]["block_id"] = options_block_id("issue-1")
    await slack.handle("interactive", options)
    assert [i["kind"] for i in publisher.published] == ["acknowledged"]


async def test_a_check_mark_on_a_message_the_view_does_not_know_yet_resolves_its_issue(
    slack: SlackInteractions, finder: Finder, publisher: Publisher, metadata: Metadata
) -> None:
    """Posted a moment ago: the view still has no ts for the issue; the metadata names it."""
    finder.issues[0]["slack_ts"] = None
    just_posted = "1795426000.000300"
    metadata.named[("C1", just_posted)] = "issue-1"
    await slack.handle("events_api", reaction("white_check_mark", ts=just_posted))
    [interaction] = publisher.published
    assert interaction["kind"] == "resolved" and interaction["issue_id"] == "issue-1"


async def test_a_reaction_on_a_message_naming_an_issue_the_view_lacks_is_decided_later(
    slack: SlackInteractions, finder: Finder, publisher: Publisher, metadata: Metadata
) -> None:
    metadata.named[("C1", "1795426000.000300")] = "issue-new"
    with pytest.raises(IssueNotInViewYet):
        await slack.handle("events_api", reaction("white_check_mark", ts="1795426000.000300"))
    assert publisher.published == []


async def test_a_reaction_on_an_older_message_of_the_issue_does_not_act(
    slack: SlackInteractions, publisher: Publisher, metadata: Metadata
) -> None:
    metadata.named[("C1", "1795425000.000100")] = "issue-1"
    await slack.handle("events_api", reaction("white_check_mark", ts="1795425000.000100"))
    assert publisher.published == []


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
