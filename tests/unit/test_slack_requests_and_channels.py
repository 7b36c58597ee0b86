"""Slack's request signature, and channel names turned into ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from gateways.slack.channel_directory import (
    ChannelDirectory,
    ChannelsUnavailable,
    SlackChannel,
    UnknownChannelName,
    is_channel_name,
)
from gateways.slack.request_signature import (
    BadSlackSignature,
    sign_slack_request,
    verify_slack_request,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=x&command=%2Falertfold&text=list"
NOW = 1_795_426_000


def test_a_request_slack_signed_within_five_minutes_is_accepted() -> None:
    signature = sign_slack_request(BODY, NOW - 299, SECRET)
    verify_slack_request(BODY, str(NOW - 299), signature, SECRET, NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=ab", "missing X-Slack-Request-Timestamp header"),
        (str(NOW), None, "missing X-Slack-Signature header"),
        ("yesterday", "v0=ab", "whole seconds since the epoch"),
        (str(NOW - 301), "signed", "301 s away from this server's clock"),
        (str(NOW), "v0=" + "0" * 64, "does not match the signing secret"),
        (str(NOW), "v0=é", "does not match the signing secret"),
    ],
)
def test_a_request_not_signed_by_slack_just_now_is_refused_with_the_reason(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    if signature == "signed":
        signature = sign_slack_request(BODY, int(str(timestamp)), SECRET)
    with pytest.raises(BadSlackSignature, match=reason):
        verify_slack_request(BODY, timestamp, signature, SECRET, NOW)


def test_a_body_changed_after_signing_is_refused() -> None:
    signature = sign_slack_request(BODY, NOW, SECRET)
    with pytest.raises(BadSlackSignature, match="does not match"):
        verify_slack_request(BODY + b"&text=resolve", str(NOW), signature, SECRET, NOW)


@pytest.mark.parametrize(
    ("value", "name"),
    [("#ops-alerts", True), ("ops-alerts", True), ("alerts", True), ("C0123ABCD", False)],
)
def test_names_are_told_from_ids(value: str, name: bool) -> None:
    assert is_channel_name(value) is name


@dataclass
class Slack:
    """conversations.list as Slack answers it, `per_page` channels a page."""

    channels: list[dict[str, Any]]
    per_page: int = 2
    calls: list[str] = field(default_factory=list)
    down: bool = False

    async def conversations_list(self, **args: Any) -> dict[str, Any]:
        if self.down:
            raise OSError("connection refused")
        start = int(args.get("cursor") or 0)
        self.calls.append(str(start))
        more = start + self.per_page < len(self.channels)
        return {
            "channels": self.channels[start : start + self.per_page],
            "response_metadata": {"next_cursor": str(start + self.per_page) if more else ""},
        }


def channel(id_: str, name: str, member: bool = True) -> dict[str, Any]:
    return {"id": id_, "name": name, "is_member": member}


@pytest.fixture
def slack() -> Slack:
    return Slack(
        [
            channel("C1", "ops-alerts"),
            channel("C2", "payments"),
            channel("C3", "random", member=False),
            channel("C4", "db"),
        ]
    )


async def test_names_resolve_to_ids_of_the_bots_channels_over_every_page(slack: Slack) -> None:
    now = [0.0]
    directory = ChannelDirectory(slack, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await directory.resolve("#ops-alerts") == "C1"
    assert await directory.resolve("db") == "C4"
    assert await directory.resolve("C9") == "C9"
    assert slack.calls == ["0", "2"]  # one listing, two pages, then kept
    assert await directory.channels() == [
        SlackChannel("C4", "db"),
        SlackChannel("C1", "ops-alerts"),
        SlackChannel("C2", "payments"),
    ]
    with pytest.raises(UnknownChannelName, match="#random"):
        await directory.resolve("random")  # the bot is not in it


async def test_an_unknown_name_asks_slack_again_but_not_at_every_alert(slack: Slack) -> None:
    now = [0.0]
    directory = ChannelDirectory(slack, miss_ttl=30, clock=lambda: now[0])  # type: ignore[arg-type]
    await directory.resolve("ops-alerts")
    slack.channels.append(channel("C5", "new-team"))
    with pytest.raises(UnknownChannelName):
        await directory.resolve("new-team")
    listings = len(slack.calls)
    now[0] = 31.0
    assert await directory.resolve("new-team") == "C5"
    assert len(slack.calls) > listings


async def test_when_slack_cannot_list_the_last_list_is_kept(slack: Slack) -> None:
    now = [0.0]
    directory = ChannelDirectory(slack, clock=lambda: now[0])  # type: ignore[arg-type]
    slack.down = True
    with pytest.raises(ChannelsUnavailable):
        await directory.resolve("ops-alerts")
    slack.down = False
    assert await directory.resolve("ops-alerts") == "C1"
    slack.down, now[0] = True, 1000.0
    assert await directory.resolve("ops-alerts") == "C1"
