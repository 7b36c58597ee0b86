"""The Slack presenter on a real Kafka broker, posting through slack_sdk to the Slack stand-in.

Each test has its own `issue-events` and `interactions` topics and its own consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from domain.issue_state import IssueSnapshot
from domain.records import IssueEventRecord
from domain.severity import Severity
from gateways.slack.blocks import issue_id_of, render_issue
from gateways.slack.presenter import ArchivedMessage, SlackPresenter
from gateways.slack.web_api import SlackMessages
from gateways.slack.workspace_budget import WorkspaceBudget, tier_3
from harness.slack_server import BOT_TOKEN, SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import RateLimit, SlackLimits, SlackMessage
from harness.stories import IssueStory, channel_key
from infra.kafka_clients import KafkaConnection
from wire.interactions import decode_interaction
from wire.issue_events import encode_issue_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PARTITIONS = 2


async def create_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for name in names:
            async with asyncio.timeout(10):
                while not await producer.partitions_for(name):
                    await asyncio.sleep(0.1)
    finally:
        await producer.stop()


async def produce(bootstrap: str, topic: str, events: Iterable[IssueEventRecord]) -> None:
    """Every event keyed by its channel (`IssueMoved` by the channel left), like the fold
    writes them; acknowledged by the end."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, encode_issue_event(event), key=channel_key(event).encode())
            for event in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        async with asyncio.timeout(20):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(r.value for r in records if r.value is not None)
        return values
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


class Topics:
    def __init__(self) -> None:
        unique = uuid.uuid4().hex[:10]
        self.issue_events = f"issue-events-{unique}"
        self.interactions = f"interactions-{unique}"
        self.group = f"presenter-{unique}"


async def new_topics(bootstrap: str) -> Topics:
    names = Topics()
    await create_topics(bootstrap, names.issue_events, names.interactions)
    return names


@pytest.fixture
async def topics(kafka_bootstrap_servers: str) -> Topics:
    return await new_topics(kafka_bootstrap_servers)


@contextlib.asynccontextmanager
async def presenting(
    bootstrap: str,
    topics: Topics,
    server: SlackWebApiServer,
    calls_per_second: float,
    archived_message: ArchivedMessage = "keep",
    **options: Any,
) -> AsyncIterator[SlackPresenter]:
    """A presenter whose workspace budgets allow `calls_per_second` per method, unless
    `options` give its `budget` (or any other setting)."""
    presenter = SlackPresenter(
        KafkaConnection(bootstrap),
        topics.issue_events,
        topics.interactions,
        topics.group,
        SlackMessages(BOT_TOKEN, server.url),
        clock=lambda: datetime.now(UTC),
        calls_per_second=calls_per_second,
        archived_message=archived_message,
        auto_offset_reset="earliest",
        **{"budget": WorkspaceBudget(tier_3(calls_per_second * 60)), **options},
    )
    task = asyncio.create_task(presenter.run())
    try:
        async with asyncio.timeout(30):
            await presenter.ready.wait()
        yield presenter
    finally:
        await presenter.stop()
        await asyncio.wait_for(task, 30)


async def until(probe: Any, what: str, timeout: float = 30) -> Any:
    """Await `probe()` becoming truthy (the server runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {probe()!r}")


def message_of(server: SlackWebApiServer, channel: str, issue_id: str) -> SlackMessage | None:
    mine = [m for m in server.messages(channel) if issue_id_of(m.metadata) == issue_id]
    assert len(mine) <= 1, f"{len(mine)} messages for {issue_id}"
    return mine[0] if mine else None


def shows(message: SlackMessage | None, issue: IssueSnapshot) -> bool:
    rendered = render_issue(issue)
    return (
        message is not None
        and message.text == rendered.text
        and message.attachments == rendered.attachments()
    )


def all_show(server: SlackWebApiServer, issues: list[IssueSnapshot]) -> bool:
    return all(shows(message_of(server, i.channel_id, i.id), i) for i in issues)


@contextlib.contextmanager
def fast_slack() -> Iterator[SlackWebApiServer]:
    """The stand-in with channels C1 and C2, at rates well above the tests' presenters."""
    limits = SlackLimits(
        per_channel={
            "chat.postMessage": RateLimit(25, 3),
            "chat.update": RateLimit(25, 3),
        },
        per_method={},
    )
    with running_slack_server({"C1", "C2"}, limits=limits) as running:
        yield running


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with fast_slack() as running:
        yield running


async def test_an_issue_is_posted_once_then_updated_in_place_and_its_ts_flows_back(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("issue-a", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        await until(lambda: message_of(server, "C1", "issue-a"), "the first post")
        later = [story.grouped("second"), story.grouped("third"), story.resolved()]
        await produce(kafka_bootstrap_servers, topics.issue_events, later)
        await until(lambda: shows(message_of(server, "C1", "issue-a"), later[-1].issue), "resolved")

    message = message_of(server, "C1", "issue-a")
    assert message is not None and message.metadata == {
        "event_type": "alertfold_issue",
        "event_payload": {"issue_id": "issue-a"},
    }
    assert len(server.calls("chat.postMessage")) == 1
    assert 1 <= len(server.calls("chat.update")) <= 3
    [posted] = [
        decode_interaction(v) for v in await read_all(kafka_bootstrap_servers, topics.interactions)
    ]
    assert (posted.kind, posted.issue_id, posted.slack_ts) == (
        "message_posted",
        "issue-a",
        message.ts,
    )
    assert posted.interaction_id == f"posted/issue-a/{message.ts}"


async def test_a_storm_of_5000_events_costs_one_post_per_issue_at_the_channels_rate(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    rate = 20.0
    stories = [IssueStory(f"storm-{n}", "C1") for n in range(50)]
    events = [story.opened() for story in stories]
    events += [story.grouped(f"alert {k}") for k in range(2, 101) for story in stories]
    assert len(events) == 5000
    async with presenting(kafka_bootstrap_servers, topics, server, rate):
        await produce(kafka_bootstrap_servers, topics.issue_events, events)
        finals = [story.events[-1].issue for story in stories]
        await until(lambda: all_show(server, finals), "every message to show its last state", 60)

    calls = server.calls(channel="C1")
    assert len(server.calls("chat.postMessage", "C1")) == 50
    assert len(calls) < len(events) / 10  # coalesced: here about 135 calls for 5,000 events
    assert all(c.status == 200 for c in calls), [c for c in calls if c.status != 200]
    # Any rate+1 consecutive calls span at least a second (a little slack for the network).
    window = int(rate)
    spans = [calls[i + window].at - calls[i].at for i in range(len(calls) - window)]
    assert min(spans) >= 0.95, min(spans)


async def test_a_rate_limited_channel_does_not_hold_up_another(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    held_for = 4.0
    slow, fast = IssueStory("slow", "C1"), IssueStory("fast", "C2")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        server.hold("chat.postMessage", "C1", held_for)
        held_since = time.monotonic()
        await produce(kafka_bootstrap_servers, topics.issue_events, [slow.opened(), fast.opened()])
        await until(lambda: message_of(server, "C2", "fast"), "the other channel's post")
        assert time.monotonic() - held_since < held_for
        assert message_of(server, "C1", "slow") is None
        # The limited channel keeps every change and shows the last once allowed.
        more = [slow.grouped("during the hold"), slow.grouped("last")]
        await produce(kafka_bootstrap_servers, topics.issue_events, more)
        await until(lambda: shows(message_of(server, "C1", "slow"), more[-1].issue), "C1 caught up")

    limited = [c for c in server.calls("chat.postMessage", "C1") if c.status == 429]
    assert limited and all(c.at - held_since < held_for + 0.5 for c in limited)
    assert [c.status for c in server.calls("chat.postMessage", "C1")][-1] == 200
    assert len([c for c in server.calls("chat.postMessage", "C1") if c.ok]) == 1


def archived(story: IssueStory) -> IssueEventRecord:
    """The issue's `IssueArchived` event, as the fold writes it after the archiving delay."""
    last = story.events[-1]
    event = last.model_copy(
        update={
            "type": "IssueArchived",
            "version": last.version + 1,
            "event_id": f"{story.issue_id}:archived",
            "issue": last.issue.model_copy(update={"status": "archived"}),
        }
    )
    story.events.append(event)
    return event


@pytest.mark.parametrize("mode", ["keep", "mark"])
async def test_an_archived_issue_keeps_its_message_or_is_marked_archived(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer, mode: ArchivedMessage
) -> None:
    story = IssueStory(f"archived-{mode}", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20, mode) as presenter:
        resolved = [story.opened(), story.resolved()]
        await produce(kafka_bootstrap_servers, topics.issue_events, resolved)
        await until(
            lambda: shows(message_of(server, "C1", story.issue_id), resolved[-1].issue), "resolved"
        )
        await produce(kafka_bootstrap_servers, topics.issue_events, [archived(story)])
        if mode == "mark":
            await until(
                lambda: shows(message_of(server, "C1", story.issue_id), story.events[-1].issue),
                "archived",
            )
            assert "*Archived*" in str(message_of(server, "C1", story.issue_id))
        await until(lambda: ("C1", story.issue_id) not in presenter.index.ts, "the issue forgotten")

    message = message_of(server, "C1", story.issue_id)
    expected = story.events[-1 if mode == "mark" else -2].issue
    assert shows(message, expected)
    assert len(server.calls("chat.postMessage")) == 1


def escalated(story: IssueStory, mentions: list[str]) -> IssueEventRecord:
    """The issue's `IssueEscalated` event: panic, with the escalation point's mentions."""
    last = story.events[-1]
    snapshot = last.issue.model_copy(
        update={"severity": Severity.PANIC, "escalation_level": 1, "mentions": mentions}
    )
    event = last.model_copy(
        update={
            "type": "IssueEscalated",
            "version": last.version + 1,
            "event_id": f"{story.issue_id}:escalated",
            "data": {"level": 1, "mentions": mentions},
            "issue": snapshot,
        }
    )
    story.events.append(event)
    return event


async def test_an_escalation_with_mentions_reposts_the_message_so_the_mentions_notify(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("escalating", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        first = await until(lambda: message_of(server, "C1", story.issue_id), "the first post")
        await produce(kafka_bootstrap_servers, topics.issue_events, [escalated(story, ["<!here>"])])
        final = story.events[-1].issue
        await until(lambda: shows(message_of(server, "C1", story.issue_id), final), "the repost")

    message = message_of(server, "C1", story.issue_id)
    assert message is not None and message.ts != first.ts
    assert "*Att:* <!here>" in str(message.attachments)
    assert message.text.endswith(" <!here>")  # where Slack notifies, mobile included
    assert [c.method for c in server.calls(channel="C1") if c.ok][-2:] == [
        "chat.delete",
        "chat.postMessage",
    ]
    values = await read_all(kafka_bootstrap_servers, topics.interactions)
    assert [decode_interaction(v).slack_ts for v in values] == [first.ts, message.ts]


async def test_a_moved_issue_is_deleted_in_the_channel_it_left_and_posted_once_in_the_new(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("moving", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20) as presenter:
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        old = await until(lambda: message_of(server, "C1", story.issue_id), "the first post")
        move = [story.moved("C2", from_slack_ts=old.ts), story.arrived()]
        await produce(kafka_bootstrap_servers, topics.issue_events, move)
        final = story.events[-1].issue
        await until(lambda: shows(message_of(server, "C2", story.issue_id), final), "the new post")
        await until(lambda: message_of(server, "C1", story.issue_id) is None, "the old deleted")
        await until(lambda: not presenter.index.unannounced, "the new ts to flow back")
        await until(lambda: presenter.messages.deletes == 1, "the delete counted")

    [deleted] = [c for c in server.calls("chat.delete") if c.ok]
    assert (deleted.channel, deleted.payload["ts"]) == ("C1", old.ts)
    assert len(server.calls("chat.postMessage", "C2")) == 1
    new = message_of(server, "C2", story.issue_id)
    assert new is not None
    values = await read_all(kafka_bootstrap_servers, topics.interactions)
    flowed_back = {(i.channel_id, i.slack_ts) for i in map(decode_interaction, values)}
    assert flowed_back == {("C1", old.ts), ("C2", new.ts)}


async def test_a_move_decided_before_the_fold_learnt_the_old_message_still_deletes_it(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    story = IssueStory("moving-unknown", "C1")
    async with presenting(kafka_bootstrap_servers, topics, server, 20):
        await produce(kafka_bootstrap_servers, topics.issue_events, [story.opened()])
        await until(lambda: message_of(server, "C1", story.issue_id), "the first post")
        server.hold("chat.delete", "C1", 1.5)  # the new post comes first: order does not matter
        move = [story.moved("C2", from_slack_ts=None), story.arrived(), story.grouped("in C2")]
        await produce(kafka_bootstrap_servers, topics.issue_events, move)
        final = story.events[-1].issue
        await until(lambda: shows(message_of(server, "C2", story.issue_id), final), "C2 shows it")
        await until(lambda: message_of(server, "C1", story.issue_id) is None, "the old deleted")

    assert len([c for c in server.calls("chat.postMessage") if c.ok]) == 2  # one per channel
