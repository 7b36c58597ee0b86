"""Slack's limits are per workspace: busy channels share one budget per method, urgent first.

The stand-in limits `chat.update` for the whole workspace (as Slack's Tier 3 does, at a
faster rate so the test is quick); the presenter's budget is a little below it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from gateways.slack.rate_holds import HELD_NOTICE
from gateways.slack.workspace_budget import WorkspaceBudget, tier_3
from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import RateLimit, SlackLimits
from harness.stories import IssueStory
from tests.integration.test_slack_presenter import (
    Topics,
    all_show,
    message_of,
    new_topics,
    presenting,
    produce,
    shows,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

CHANNELS = [f"C{n}" for n in range(1, 9)]
UPDATES_PER_SECOND = 4.0  # the stand-in's workspace limit on chat.update
BUDGET_PER_MINUTE = 180  # the presenter's: 3 a second


@pytest.fixture
async def topics(kafka_bootstrap_servers: str) -> Topics:
    return await new_topics(kafka_bootstrap_servers)


@pytest.fixture
def server() -> Iterator[SlackWebApiServer]:
    limits = SlackLimits(
        per_channel={"chat.postMessage": RateLimit(25, 3)},
        per_method={"chat.update": RateLimit(UPDATES_PER_SECOND, 4)},
    )
    with running_slack_server(set(CHANNELS), limits=limits) as running:
        yield running


async def test_busy_channels_share_the_update_budget_and_a_resolve_goes_before_counts(
    kafka_bootstrap_servers: str, topics: Topics, server: SlackWebApiServer
) -> None:
    stories = [IssueStory(f"{c}-{n}", c) for c in CHANNELS for n in range(4)]
    budget = WorkspaceBudget(tier_3(BUDGET_PER_MINUTE), burst=3)
    held = metric("alertfold_slack_held_notices_total")
    updated = metric("alertfold_slack_calls_total", method="chat.update", outcome="ok")
    async with presenting(
        kafka_bootstrap_servers, topics, server, 20, budget=budget, held_notice_after=1.0
    ):
        await produce(kafka_bootstrap_servers, topics.issue_events, [s.opened() for s in stories])
        await until(lambda: all_show(server, [s.events[-1].issue for s in stories]), "posted")

        counts = [s.grouped(f"again {k}") for k in range(2) for s in stories]
        resolving, late = stories[-1], IssueStory("late", "C1")
        await produce(
            kafka_bootstrap_servers,
            topics.issue_events,
            [*counts, resolving.resolved(), late.opened()],
        )
        await until(lambda: message_of(server, "C1", "late"), "the new issue posted", 5)
        resolved = resolving.events[-1].issue
        await until(lambda: shows(message_of(server, "C8", resolved.id), resolved), "resolve", 5)
        lagging = [s for s in stories if not all_show(server, [s.events[-1].issue])]
        assert len(lagging) >= 15  # the resolve went before most count updates

        await until(lambda: all_show(server, [s.events[-1].issue for s in stories]), "caught up")

    updates = server.calls("chat.update")
    assert all(call.status == 200 for call in updates), [c for c in updates if c.status != 200]
    assert len({call.channel for call in updates}) == len(CHANNELS)
    notices = {c: [m for m in server.messages(c) if m.text == HELD_NOTICE] for c in CHANNELS}
    assert all(len(found) <= 1 for found in notices.values())
    assert sum(len(found) for found in notices.values()) >= 4
    assert all(m.metadata is None for found in notices.values() for m in found)
    told = sum(len(found) for found in notices.values())
    assert metric("alertfold_slack_held_notices_total") - held == told
    ok = metric("alertfold_slack_calls_total", method="chat.update", outcome="ok") - updated
    assert ok == len(updates)
    for channel in CHANNELS:
        assert (
            REGISTRY.get_sample_value("alertfold_slack_queue_depth", {"channel": channel})
            is not None
        )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
