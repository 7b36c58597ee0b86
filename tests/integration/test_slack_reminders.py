"""Reminders in Slack: a reply in the thread of the issue's message, through the presenter on
a real broker and slack_sdk against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.records import IssueEventRecord
from harness.slack_server import SlackWebApiServer
from harness.stories import IssueStory
from tests.integration.test_slack_presenter import (
    Topics,
    fast_slack,
    message_of,
    new_topics,
    presenting,
    produce,
    shows,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with fast_slack() as running:
        yield running


@pytest.fixture
async def topics(kafka_bootstrap_servers: str) -> Topics:
    return await new_topics(kafka_bootstrap_servers)


ALICE = {"kind": "slack_user", "id": "U0ALICE", "name": "Alice"}


def acknowledged(story: IssueStory) -> IssueEventRecord:
    """An acknowledgement, as the fold records it (the story knows no acts)."""
    event = story.grouped("still down")
    snapshot = event.issue.model_copy(update={"acknowledged_by": ALICE})
    acked = event.model_copy(update={"type": "IssueAcknowledged", "issue": snapshot})
    story.events[-1] = acked
    return acked


async def test_a_reminder_is_a_reply_in_the_messages_thread_and_the_message_stays(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("reminded", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        message = await until(lambda: message_of(server, "C1", "reminded"), "the post")
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.reminded()])
        [reply] = await until(lambda: server.replies("C1", message.ts), "the reminder")
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.reminded()])
        await until(lambda: len(server.replies("C1", message.ts)) == 2, "the second reminder")

    assert reply.text.startswith(":alarm_clock: Reminder: still open")
    assert len(server.calls("chat.postMessage")) == 3  # the message, then two replies
    assert server.calls("chat.update") == []  # a reminder changes nothing shown
    assert message_of(server, "C1", "reminded") is message
    assert message.reply_count == 2


async def test_a_reminder_waiting_its_turn_is_dropped_once_the_issue_is_acknowledged(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story, barrier = IssueStory("acked", "C1"), IssueStory("barrier", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20) as presenter:
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        message = await until(lambda: message_of(server, "C1", "acked"), "the post")
        server.hold("chat.postMessage", "C1", 2.0)  # the reply has to wait
        later = [story.reminded(), acknowledged(story)]
        await produce(kafka_bootstrap_servers, topics.issue_events, later)
        await until(lambda: shows(message_of(server, "C1", "acked"), later[-1].issue), "the ack")
        # A post queued after them in the channel goes once the hold is over, after the
        # reminder would have.
        await produce(kafka_bootstrap_servers, topics.issue_events, [barrier.opened()])
        await until(lambda: message_of(server, "C1", "barrier"), "the next post")

    assert server.replies("C1", message.ts) == []
    assert presenter.messages.reminders == 0
