"""Two `alertfold presenter` processes in one consumer group: still one Slack message per issue.

The presenters share the partitions of `issue-events`; each channel is on one partition, so
one presenter at a time shows it. While they come and go (a second one joining mid-flow, one
stopped and started again), partitions move between them: the one taking a channel over must
find the messages the other posted there, and the one giving it up must not be half-way
through a post the other cannot see yet.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.records import IssueEventRecord
from gateways.slack.blocks import issue_id_of
from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackLimits
from harness.stories import IssueStory
from harness.waiting import eventually
from tests.integration.test_slack_presenter import all_show, produce
from tests.integration.test_slack_presenter_crash import PresenterProcess, presenter_env

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CHANNELS = [f"C{n}" for n in range(1, 7)]


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    with running_slack_server(set(CHANNELS), limits=SlackLimits.none()) as running:
        yield running


class Presenters:
    """Two presenter processes of one product (same topics, same consumer group)."""

    def __init__(
        self, bootstrap: str, server: SlackWebApiServer, workdir: Path, pace: str = "1"
    ) -> None:
        self.bootstrap = bootstrap
        self.server = server
        self.prefix = f"t{uuid.uuid4().hex[:10]}-"
        env = presenter_env(bootstrap, server, self.prefix, workdir / "data")
        # Calls per second per channel (1 by default): posts take seconds, so rebalances
        # land amid them.
        env |= {"ALERTFOLD_PARTITIONS": "4", "ALERTFOLD_SLACK_CALLS_PER_SECOND": pace}
        self.a = PresenterProcess(env, _made(workdir / "a"))
        self.b = PresenterProcess(env, _made(workdir / "b"))
        self.stories: list[IssueStory] = []

    def open_issues(self, wave: str, per_channel: int) -> None:
        fresh = [
            IssueStory(f"{wave}-{channel}-{n}", channel)
            for n in range(per_channel)
            for channel in CHANNELS
        ]
        self.stories.extend(fresh)
        self.produce([story.opened() for story in fresh])

    def group_alerts(self) -> None:
        self.produce([story.grouped() for story in self.stories])

    def produce(self, events: list[IssueEventRecord]) -> None:
        asyncio.run(produce(self.bootstrap, f"{self.prefix}issue-events", events))

    def all_shown(self) -> None:
        finals = [story.events[-1].issue for story in self.stories]
        eventually(lambda: all_show(self.server, finals), timeout=90, what="every issue shown")

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def presenters(
    kafka_bootstrap_servers: str, server: SlackWebApiServer, tmp_path: Path
) -> Iterator[Presenters]:
    made = Presenters(kafka_bootstrap_servers, server, tmp_path)
    try:
        yield made
    finally:
        made.stop()


def test_two_presenters_coming_and_going_show_each_issue_in_exactly_one_message(
    presenters: Presenters, server: SlackWebApiServer
) -> None:
    presenters.a.start()
    presenters.open_issues("first", per_channel=2)
    presenters.all_shown()  # the first presenter has searched and posted in every channel

    presenters.open_issues("second", per_channel=4)
    presenters.b.start()  # joins while the first is posting: the partitions are shared
    presenters.group_alerts()
    presenters.all_shown()

    presenters.open_issues("third", per_channel=2)
    presenters.all_shown()  # each has posted in its own channels

    presenters.open_issues("fourth", per_channel=3)
    presenters.group_alerts()
    presenters.b.stop()  # leaves mid-flow: its channels go back to the first presenter
    presenters.all_shown()

    presenters.open_issues("fifth", per_channel=3)
    presenters.b.start()
    presenters.group_alerts()
    presenters.all_shown()

    # Issue messages carry the issue in their metadata; a channel may also have been told, in
    # a message of its own, that its updates were held back by Slack's limits.
    for channel in CHANNELS:
        shown = sorted(i for m in server.messages(channel) if (i := issue_id_of(m.metadata)))
        assert shown == sorted(s.issue_id for s in presenters.stories if s.channel_id == channel)
    issue_posts = [c for c in server.calls("chat.postMessage") if c.payload.get("metadata")]
    assert len(issue_posts) == len(presenters.stories)


def test_a_presenter_giving_up_a_channel_while_waiting_to_post_leaves_the_post_to_the_next(
    kafka_bootstrap_servers: str, server: SlackWebApiServer, tmp_path: Path
) -> None:
    presenters = Presenters(kafka_bootstrap_servers, server, tmp_path, pace="0.25")
    try:
        presenters.a.start()
        presenters.open_issues("first", per_channel=3)  # posts wait 4 s for their turns
        presenters.b.start()
        presenters.all_shown()
    finally:
        presenters.stop()
    for channel in CHANNELS:
        shown = sorted(i for m in server.messages(channel) if (i := issue_id_of(m.metadata)))
        assert shown == sorted(s.issue_id for s in presenters.stories if s.channel_id == channel)
