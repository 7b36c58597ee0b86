"""A channel's queue coalesces states per issue and never lets an offset pass unshown state."""

from __future__ import annotations

import time

from gateways.slack.channel_queue import POST, UPDATE, ChannelQueue, Pending
from harness.stories import IssueStory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_newer_states_of_an_issue_replace_the_pending_one() -> None:
    queue = ChannelQueue("C1", 1.0)
    story = IssueStory("i-1", "C1")
    for offset, event in enumerate([story.opened(), story.grouped(), story.grouped()]):
        queue.offer(event.issue, 0, offset, finish=False)
    [entry] = queue.pending.values()
    assert entry.issue.alert_count == 3
    assert (entry.offset, entry.low_offset) == (2, 0)


async def test_only_the_lowest_unshown_offset_per_partition_holds_the_commit() -> None:
    queue = ChannelQueue("C1", 1.0)
    one, two = IssueStory("i-1", "C1"), IssueStory("i-2", "C1")
    queue.offer(one.opened().issue, 0, 5, finish=False)
    queue.offer(two.opened().issue, 0, 6, finish=False)
    queue.offer(one.grouped().issue, 0, 7, finish=False)
    assert queue.low_offsets() == {0: 5}

    first = queue.pending["i-1"]
    queue.shown(first, 5)  # state of offset 5 shown, but offset 7 arrived meanwhile
    assert queue.low_offsets() == {0: 6}
    queue.shown(queue.pending["i-2"], 6)
    assert queue.low_offsets() == {0: 6}
    queue.shown(queue.pending["i-1"], 7)
    assert queue.low_offsets() == {}


async def test_a_rate_limited_method_lets_the_channels_other_calls_through() -> None:
    clock = Clock()
    queue = ChannelQueue("C1", 1.0, clock)
    posted, fresh = IssueStory("i-posted", "C1"), IssueStory("i-new", "C1")
    queue.offer(posted.opened().issue, 0, 0, finish=False)
    queue.offer(fresh.opened().issue, 0, 1, finish=False)

    def method_of(entry: Pending) -> str:
        return UPDATE if entry.issue.id == "i-posted" else POST

    def ids() -> list[str]:
        return [entry.issue.id for entry, _, _ in queue.candidates(method_of, first_come)]

    queue.block(UPDATE, 3)
    assert ids() == ["i-new"]
    queue.block(POST, 3)
    assert ids() == []
    clock.now += 3
    assert ids() == ["i-posted", "i-new"]


def first_come(entry: Pending) -> tuple[int, float]:
    return (0, entry.since)


async def test_state_changes_go_before_count_updates_then_the_longest_waiting() -> None:
    clock = Clock()
    queue = ChannelQueue("C1", 1.0, clock)
    counts, resolving = IssueStory("i-counts", "C1"), IssueStory("i-resolving", "C1")
    queue.offer(counts.opened().issue, 0, 0, finish=False)
    clock.now += 1
    queue.offer(resolving.opened().issue, 0, 1, finish=False)

    def count_only_first_issue(entry: Pending) -> tuple[int, float]:
        return (1 if entry.issue.id == "i-counts" else 0, entry.since)

    found = queue.candidates(lambda entry: UPDATE, count_only_first_issue)
    assert [entry.issue.id for entry, _, _ in found] == ["i-resolving", "i-counts"]
    assert queue.candidates(lambda entry: UPDATE, first_come)[0][0].issue.id == "i-counts"
    assert queue.waited() == 1


async def test_calls_take_turns_no_closer_than_the_interval() -> None:
    queue = ChannelQueue("C1", 0.05)
    started = time.monotonic()
    for _ in range(5):
        await queue.turn()  # the first turn is at once, each next one 0.05 s later
    assert time.monotonic() - started >= 0.2


async def test_revoked_partitions_forget_their_pending_states() -> None:
    queue = ChannelQueue("C1", 1.0)
    queue.offer(IssueStory("i-1", "C1").opened().issue, 0, 0, finish=False)
    queue.offer(IssueStory("i-2", "C1").opened().issue, 1, 0, finish=False)
    assert queue.drop_partitions({1}) == ["i-2"]
    assert list(queue.pending) == ["i-1"]


async def test_a_reminder_waits_on_its_issues_entry_without_changing_the_state_it_shows() -> None:
    queue = ChannelQueue("C1", 1.0)
    story = IssueStory("i-1", "C1")
    opened = story.opened()
    queue.offer(opened.issue, 0, 0, finish=False)
    reminded = story.reminded()
    queue.offer_reminder(reminded.issue, 0, 1, reminded.occurred_at)
    [entry] = queue.pending.values()
    assert entry.issue is opened.issue and not entry.reply_only
    assert (entry.offset, entry.low_offset, entry.remind_at) == (1, 0, reminded.occurred_at)


async def test_a_reminder_alone_is_a_reply_only_until_a_new_state_comes() -> None:
    queue = ChannelQueue("C1", 1.0)
    story = IssueStory("i-1", "C1")
    story.opened()
    reminded = story.reminded()
    queue.offer_reminder(reminded.issue, 0, 3, reminded.occurred_at)
    entry = queue.pending["i-1"]
    assert entry.reply_only and entry.remind_at == reminded.occurred_at
    queue.offer(story.grouped().issue, 0, 4, finish=False)
    assert not entry.reply_only and entry.remind_at == reminded.occurred_at
