"""The Slack stand-in behaves like Slack's Web API, as the real slack_sdk clients see it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from harness.slack_server import BOT_TOKEN, SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import RateLimit, SlackLimits

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

METADATA = {"event_type": "alertfold_issue", "event_payload": {"issue_id": "i-1"}}


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with running_slack_server({"C1", "C2"}, limits=SlackLimits.none()) as running:
        yield running


def client(server: SlackWebApiServer, token: str | None = BOT_TOKEN) -> WebClient:
    return WebClient(token=token, base_url=server.url)


def error_of(call: object) -> tuple[int, str]:
    with pytest.raises(SlackApiError) as raised:
        call()  # type: ignore[operator]
    return raised.value.response.status_code, raised.value.response["error"]


def test_auth_test_answers_for_the_bot_token_and_refuses_others(
    server: SlackWebApiServer,
) -> None:
    assert client(server).auth_test()["user_id"] == "UALERTFOLD"
    assert error_of(lambda: client(server, "xoxb-wrong").auth_test()) == (200, "invalid_auth")
    assert error_of(lambda: client(server, None).auth_test()) == (200, "not_authed")


def test_a_posted_message_is_kept_with_its_blocks_and_metadata_and_updated_in_place(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    posted = slack.chat_postMessage(channel="C1", text="hello", blocks=blocks, metadata=METADATA)
    slack.chat_update(channel="C1", ts=posted["ts"], text="bye", attachments=[{"color": "#f00"}])

    [message] = server.messages("C1")
    assert (message.ts, message.text, message.blocks) == (posted["ts"], "bye", blocks)
    assert message.attachments == [{"color": "#f00"}]
    assert message.metadata == METADATA
    assert server.messages("C2") == []


def test_history_returns_metadata_only_when_asked_newest_first_and_paged(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    tss = [
        slack.chat_postMessage(channel="C1", text=f"m{n}", metadata=METADATA)["ts"]
        for n in range(5)
    ]

    plain = slack.conversations_history(channel="C1")["messages"]
    assert [m["ts"] for m in plain] == tss[::-1]
    assert all("metadata" not in m for m in plain)

    first = slack.conversations_history(channel="C1", limit=3, include_all_metadata=True)
    assert first["has_more"] and first["messages"][0]["metadata"] == METADATA
    cursor = first["response_metadata"]["next_cursor"]
    rest = slack.conversations_history(channel="C1", limit=3, cursor=cursor)
    assert [m["ts"] for m in first["messages"] + rest["messages"]] == tss[::-1]
    assert not rest["has_more"]


def test_unknown_channels_and_messages_are_errors_like_slack(server: SlackWebApiServer) -> None:
    slack = client(server)
    assert error_of(lambda: slack.chat_postMessage(channel="C9", text="x")) == (
        200,
        "channel_not_found",
    )
    assert error_of(lambda: slack.chat_update(channel="C1", ts="1.000001", text="x")) == (
        200,
        "message_not_found",
    )
    posted = slack.chat_postMessage(channel="C1", text="x")
    slack.chat_delete(channel="C1", ts=posted["ts"])
    assert server.messages("C1") == []
    assert error_of(lambda: slack.chat_delete(channel="C1", ts=posted["ts"])) == (
        200,
        "message_not_found",
    )


def test_the_bot_may_delete_only_its_own_messages(server: SlackWebApiServer) -> None:
    slack = client(server)
    said = server.say("C1", "U0PERSON", "hello")
    assert error_of(lambda: slack.chat_delete(channel="C1", ts=said.ts)) == (
        200,
        "cant_delete_message",
    )
    [message] = slack.conversations_history(channel="C1")["messages"]
    assert (message["user"], "bot_id" in message) == ("U0PERSON", False)


def test_posting_faster_than_a_channel_allows_gets_429_ratelimited_with_retry_after() -> None:
    limits = SlackLimits(per_channel={"chat.postMessage": RateLimit(1.0, 2)}, per_method={})
    with running_slack_server({"C1", "C2"}, limits=limits) as server:
        slack = client(server)
        slack.chat_postMessage(channel="C1", text="1")
        slack.chat_postMessage(channel="C1", text="2")
        with pytest.raises(SlackApiError) as raised:
            slack.chat_postMessage(channel="C1", text="3")
        response = raised.value.response
        assert (response.status_code, response["error"]) == (429, "ratelimited")
        assert int(response.headers["Retry-After"]) >= 1
        # Another channel has its own allowance.
        slack.chat_postMessage(channel="C2", text="elsewhere")
        assert [m.text for m in server.messages("C1")] == ["2", "1"]
        assert [c.status for c in server.calls("chat.postMessage", "C1")] == [200, 200, 429]


async def test_a_held_method_answers_429_in_its_channel_until_its_time_is_up(
    server: SlackWebApiServer,
) -> None:
    slack = AsyncWebClient(token=BOT_TOKEN, base_url=server.url)
    posted = await slack.chat_postMessage(channel="C1", text="x")
    other = await slack.chat_postMessage(channel="C2", text="x")
    server.hold("chat.update", "C1", 1.0)
    with pytest.raises(SlackApiError) as raised:
        await slack.chat_update(channel="C1", ts=posted["ts"], text="y")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    await slack.chat_update(channel="C2", ts=other["ts"], text="y")
    started = time.monotonic()
    while True:
        try:
            await slack.chat_update(channel="C1", ts=posted["ts"], text="y")
            break
        except SlackApiError as error:
            assert error.response.status_code == 429
            assert time.monotonic() - started < 5
            await asyncio.sleep(float(error.response.headers["Retry-After"]) / 4)
    assert time.monotonic() - started >= 0.5
    assert [m.text for m in server.messages("C1")] == ["y"]


def test_tier_3_methods_are_limited_for_the_whole_workspace_not_per_channel() -> None:
    limits = SlackLimits(per_channel={}, per_method={"chat.update": RateLimit(1.0, 2)})
    with running_slack_server({"C1", "C2", "C3"}, limits=limits) as server:
        slack = client(server)
        posted = {c: slack.chat_postMessage(channel=c, text="x")["ts"] for c in ("C1", "C2", "C3")}
        slack.chat_update(channel="C1", ts=posted["C1"], text="y")
        slack.chat_update(channel="C2", ts=posted["C2"], text="y")
        status, error = error_of(lambda: slack.chat_update(channel="C3", ts=posted["C3"], text="y"))
        assert (status, error) == (429, "ratelimited")


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_blocks_past_block_kit_limits_are_invalid_blocks_with_slacks_detail(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "value": "v"}
    attachment = {
        "blocks": [section("x" * 3001), header, {"type": "actions", "elements": [button]}]
    }
    with pytest.raises(SlackApiError) as raised:
        slack.chat_postMessage(channel="C1", text="x", attachments=[attachment])
    response = raised.value.response
    assert response["error"] == "invalid_blocks"
    assert response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters "
        "[json-pointer:/attachments/0/blocks/0/text/text]",
        "[ERROR] must be less than 151 characters [json-pointer:/attachments/0/blocks/1/text/text]",
        "[ERROR] must be less than 76 characters "
        "[json-pointer:/attachments/0/blocks/2/elements/0/text/text]",
    ]
    too_many = [section(str(n)) for n in range(51)]
    assert error_of(lambda: slack.chat_postMessage(channel="C1", text="x", blocks=too_many)) == (
        200,
        "invalid_blocks",
    )
    assert server.messages("C1") == []


def test_over_long_text_is_msg_too_long_and_too_much_block_text_msg_blocks_too_long(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    assert error_of(lambda: slack.chat_postMessage(channel="C1", text="x" * 40_001)) == (
        200,
        "msg_too_long",
    )
    blocks = [section("x" * 3000) for _ in range(5)]
    assert error_of(lambda: slack.chat_postMessage(channel="C1", text="x", blocks=blocks)) == (
        200,
        "msg_blocks_too_long",
    )
    posted = slack.chat_postMessage(channel="C1", text="x", blocks=blocks[:4])
    updated = [*blocks[:4], section("more")]
    assert error_of(
        lambda: slack.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=updated)
    ) == (200, "msg_blocks_too_long")


def test_the_bot_may_update_only_its_own_messages_and_only_in_channels_it_is_in(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    said = server.say("C1", "U0PERSON", "hello")
    assert error_of(lambda: slack.chat_update(channel="C1", ts=said.ts, text="x")) == (
        200,
        "cant_update_message",
    )
    server.surfaces.outside.add("C2")
    assert error_of(lambda: slack.chat_postMessage(channel="C2", text="x")) == (
        200,
        "not_in_channel",
    )
    assert error_of(lambda: slack.conversations_history(channel="C2")) == (200, "not_in_channel")


def test_replies_stay_in_their_thread_and_the_parent_counts_them(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    parent = slack.chat_postMessage(channel="C1", text="issue", metadata=METADATA)["ts"]
    first = server.reply("C1", parent, "U0PERSON", "looking")
    server.reply("C1", parent, "U0OTHER", "me too")

    [listed] = slack.conversations_history(channel="C1")["messages"]
    assert (listed["ts"], listed["reply_count"], listed["thread_ts"]) == (parent, 2, parent)
    thread = slack.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["issue", "looking", "me too"]
    assert slack.conversations_replies(channel="C1", ts=first.ts)["messages"][0]["ts"] == parent
    assert error_of(lambda: slack.conversations_replies(channel="C1", ts="1.000001")) == (
        200,
        "thread_not_found",
    )


def test_a_post_with_thread_ts_is_a_reply_in_that_thread(server: SlackWebApiServer) -> None:
    slack = client(server)
    parent = slack.chat_postMessage(channel="C1", text="issue", metadata=METADATA)["ts"]
    reply = slack.chat_postMessage(channel="C1", text="reminder", thread_ts=parent)
    again = slack.chat_postMessage(channel="C1", text="again", thread_ts=reply["ts"])

    assert [m.ts for m in server.messages("C1")] == [parent]
    assert [(m.text, m.thread_ts) for m in server.replies("C1", parent)] == [
        ("reminder", parent),
        ("again", parent),
    ]
    assert again["message"]["thread_ts"] == parent
    assert error_of(
        lambda: slack.chat_postMessage(channel="C1", text="x", thread_ts="1.000001")
    ) == (200, "invalid_thread_ts")


async def test_a_dropped_answer_leaves_the_call_done_and_the_client_without_an_answer(
    server: SlackWebApiServer,
) -> None:
    slack = AsyncWebClient(token=BOT_TOKEN, base_url=server.url, retry_handlers=[])
    server.drop_answers("chat.postMessage")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await slack.chat_postMessage(channel="C1", text="x")
    [call] = server.calls("chat.postMessage")
    assert call.ok and not call.answered
    assert [m.text for m in server.messages("C1")] == ["x"]


def test_conversations_list_pages_every_channel_with_name_and_membership() -> None:
    channels = {f"C{n:04d}" for n in range(5)}
    with running_slack_server(channels, limits=SlackLimits.none()) as server:
        server.surfaces.names["C0001"] = "ops-alerts"
        server.surfaces.outside.add("C0002")
        slack = client(server)
        seen: list[dict[str, object]] = []
        cursor = ""
        pages = 0
        while True:
            page = slack.conversations_list(limit=2, **({"cursor": cursor} if cursor else {}))
            seen.extend(page["channels"])
            pages += 1
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                break
    assert pages == 3 and sorted(str(c["id"]) for c in seen) == sorted(channels)
    by_id = {c["id"]: c for c in seen}
    assert by_id["C0001"]["name"] == "ops-alerts" and by_id["C0000"]["name"] == "c0000"
    assert not by_id["C0002"]["is_member"] and by_id["C0003"]["is_member"]


def test_replies_answer_a_message_with_its_metadata_and_refuse_where_the_bot_is_not(
    server: SlackWebApiServer,
) -> None:
    slack = client(server)
    posted = slack.chat_postMessage(channel="C1", text="hello", metadata=METADATA)
    found = slack.conversations_replies(channel="C1", ts=posted["ts"], include_all_metadata=True)
    assert [m["metadata"] for m in found["messages"]] == [METADATA]
    plain = slack.conversations_replies(channel="C1", ts=posted["ts"])
    assert "metadata" not in plain["messages"][0]
    assert error_of(lambda: slack.conversations_replies(channel="C1", ts="1.2")) == (
        200,
        "thread_not_found",
    )
    server.surfaces.outside.add("C1")
    assert error_of(lambda: slack.conversations_replies(channel="C1", ts=posted["ts"])) == (
        200,
        "not_in_channel",
    )
