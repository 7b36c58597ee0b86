"""What the presenter sends is what Slack takes, once, whole, and safe, with threads kept.

The real presenter on the real broker, through slack_sdk, against the Slack stand-in, which
refuses what Slack refuses (Block Kit limits, message sizes).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.records import IssueEventRecord
from gateways.slack.blocks import issue_id_of
from gateways.slack.left_behind import LEFT_BEHIND_EVENT_TYPE
from harness.slack_server import SlackWebApiServer
from harness.slack_server_workspace import SlackMessage
from harness.stories import IssueStory
from tests.integration.test_slack_presenter import (
    Topics,
    escalated,
    fast_slack,
    message_of,
    new_topics,
    presenting,
    produce,
    read_all,
    shows,
    until,
)
from wire.interactions import decode_interaction

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
async def topics(kafka_bootstrap_servers: str) -> Topics:
    return await new_topics(kafka_bootstrap_servers)


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with fast_slack() as running:
        yield running


def with_alert(event: IssueEventRecord, **alert: object) -> IssueEventRecord:
    """The event with more keys in its snapshot's latest alert (Slack Manager's names)."""
    issue = event.issue
    return event.model_copy(
        update={"issue": issue.model_copy(update={"last_alert": {**issue.last_alert, **alert}})}
    )


def section_texts(message: SlackMessage) -> list[str]:
    blocks = message.attachments[0]["blocks"]
    return [b["text"]["text"] for b in blocks if b["type"] == "section" and "block_id" not in b]


async def test_a_post_whose_answer_was_lost_is_found_in_the_channel_not_posted_twice(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("reset", "C1")
    server.drop_answers("chat.postMessage")  # posted, then the connection is reset
    async with presenting(kafka_bootstrap_servers, topics, server, 20) as presenter:
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        await until(lambda: shows(message_of(server, "C1", "reset"), story.events[-1].issue), "it")
        adopted = ("C1", "reset")
        await until(lambda: adopted in presenter.index.ts, "the message adopted")
        await until(lambda: not presenter.index.unannounced, "its ts to flow back")

    [post] = server.calls("chat.postMessage")
    assert not post.answered
    assert len(server.messages("C1")) == 1
    assert server.calls("conversations.history")  # searched, and adopted what it found
    [posted] = [
        decode_interaction(v) for v in await read_all(kafka_bootstrap_servers, topics.interactions)
    ]
    assert posted.slack_ts == server.messages("C1")[0].ts


async def test_a_long_alert_text_reaches_slack_whole_over_several_sections(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    text = "<!channel> & co\n" + "\n".join(f"{n:04} frame " + "x" * 89 for n in range(100))
    story = IssueStory("long", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened(text)])
        message = await until(lambda: message_of(server, "C1", "long"), "the post")

    assert all(call.ok for call in server.calls("chat.postMessage"))
    assert len(section_texts(message)) == 4
    shown = "\n".join(section_texts(message))
    assert shown == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def test_the_alert_names_the_bot_and_its_fallback_text_is_the_notification(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("named", "C1")
    opened = with_alert(
        story.opened(),
        username="Disk watcher",
        iconEmoji=":floppy_disk:",
        fallbackText="<!channel> disk full",
    )
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [opened])
        message = await until(lambda: message_of(server, "C1", "named"), "the post")

    assert (message.username, message.icon_emoji) == ("Disk watcher", ":floppy_disk:")
    assert message.text == "&lt;!channel&gt; disk full"


async def test_without_the_customize_scope_the_message_is_posted_under_the_apps_name(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    server.workspace.scopes.discard("chat:write.customize")
    story = IssueStory("unnamed", "C1")
    opened = with_alert(story.opened(), username="Disk watcher")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [opened])
        message = await until(lambda: message_of(server, "C1", "unnamed"), "the post")

    assert message.username == ""
    assert [c.error for c in server.calls("chat.postMessage")] == ["missing_scope", None]


async def test_an_escalated_message_with_replies_stays_marked_and_the_issue_goes_on_below(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("discussed", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        first = await until(lambda: message_of(server, "C1", "discussed"), "the first post")
        server.reply("C1", first.ts, "U0ONCALL", "looking into it")
        await produce(kafka_bootstrap_servers, topics.issue_events, [escalated(story, ["<!here>"])])
        final = story.events[-1].issue
        await until(lambda: shows(message_of(server, "C1", "discussed"), final), "the new post")

    new, old = server.messages("C1")
    assert (old.ts, old.reply_count) == (first.ts, 1)
    assert old.metadata is not None and old.metadata["event_type"] == LEFT_BEHIND_EVENT_TYPE
    assert "Escalated" in str(old.attachments) and "actions" not in str(old.attachments)
    assert issue_id_of(new.metadata) == "discussed" and "<!here>" in new.text
    assert not server.calls("chat.delete")


async def test_a_moved_message_with_replies_stays_in_the_old_channel_marked_moved(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("moved-discussed", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        old = await until(lambda: message_of(server, "C1", story.issue_id), "the first post")
        server.reply("C1", old.ts, "U0ONCALL", "why is this here?")
        move = [story.moved("C2", from_slack_ts=old.ts), story.arrived()]
        await produce(kafka_bootstrap_servers, topics.issue_events, move)
        final = story.events[-1].issue
        await until(lambda: shows(message_of(server, "C2", story.issue_id), final), "C2 shows it")
        await until(lambda: message_of(server, "C1", story.issue_id) is None, "C1 marked")

    [kept] = server.messages("C1")
    assert kept.ts == old.ts and kept.reply_count == 1
    assert "Moved to <#C2>" in str(kept.attachments)
    assert not server.calls("chat.delete")
