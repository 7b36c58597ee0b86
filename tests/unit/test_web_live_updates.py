"""Live updates: a change is announced to every page once the view shows it, not before."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from gateways.web.live import EVERYTHING, QUEUE_SIZE, IssueFeed
from infra.kafka_clients import KafkaConnection


class View:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    def held(self, issue_ids: Collection[str]) -> dict[str, int]:
        return {i: self.versions[i] for i in issue_ids if i in self.versions}


async def test_a_change_is_announced_once_the_view_holds_its_version() -> None:
    view = View()
    feed = IssueFeed(KafkaConnection("unused:9092"), "issue-events", view.held, settle_seconds=60)
    async with feed.subscription() as page:
        feed.decided("i-1", 2)
        view.versions["i-1"] = 1
        await feed.announce_settled()
        assert page.empty()
        view.versions["i-1"] = 2
        await feed.announce_settled()
        assert page.get_nowait() == frozenset({"i-1"})
        await feed.announce_settled()
        assert page.empty()


async def test_a_change_the_view_is_slow_to_show_is_announced_after_the_settle_time() -> None:
    feed = IssueFeed(KafkaConnection("unused:9092"), "issue-events", View().held, settle_seconds=0)
    async with feed.subscription() as page:
        feed.decided("i-1", 1)
        await feed.announce_settled()
        assert page.get_nowait() == frozenset({"i-1"})


async def test_a_page_that_does_not_keep_up_is_told_everything_changed() -> None:
    feed = IssueFeed(KafkaConnection("unused:9092"), "issue-events", View().held)
    async with feed.subscription() as slow, feed.subscription() as quick:
        for n in range(QUEUE_SIZE + 1):
            feed.tell(frozenset({f"i-{n}"}))
            await asyncio.sleep(0)
            quick.get_nowait()
        assert slow.qsize() == 1 and slow.get_nowait() == frozenset({EVERYTHING})


async def test_with_no_page_open_the_view_is_not_asked_and_changes_keep_until_they_settle() -> None:
    asked: list[Collection[str]] = []

    def held(issue_ids: Collection[str]) -> dict[str, int]:
        asked.append(list(issue_ids))
        return {}

    feed = IssueFeed(KafkaConnection("unused:9092"), "issue-events", held, settle_seconds=60)
    feed.decided("i-1", 1)
    await feed.announce_settled()
    assert asked == []
    async with feed.subscription() as page:  # a page opened within the settle time hears of it
        await feed.announce_settled()
        assert asked == [["i-1"]]
        assert page.empty()
    feed.settle_seconds = 0
    await feed.announce_settled()
    async with feed.subscription() as page:  # settled while nobody watched: forgotten
        await feed.announce_settled()
        assert asked == [["i-1"]]
