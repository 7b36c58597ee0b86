"""A moved issue's old message is deleted in the channel it left; the new one is posted."""

from __future__ import annotations

from gateways.slack.channel_queue import DELETE, POST, ChannelQueue, Pending
from gateways.slack.dry_run import describe
from gateways.slack.moves import MovedAway, moved_away
from harness.stories import IssueStory, channel_key


def test_a_move_names_the_channel_left_and_the_message_there() -> None:
    story = IssueStory("i-1", "CA")
    story.opened()
    moved = story.moved("CB", from_slack_ts="1714564800.000100")
    assert moved_away(moved) == MovedAway("i-1", "CA", "1714564800.000100", "CB")
    assert (moved.channel_id, moved.issue.channel_id, channel_key(moved)) == ("CB", "CB", "CA")
    assert moved_away(story.arrived()) is None


def test_a_move_whose_old_message_the_fold_never_learnt_has_no_ts() -> None:
    story = IssueStory("i-1", "CA")
    story.opened()
    assert moved_away(story.moved("CB")) == MovedAway("i-1", "CA", None, "CB")


def test_other_events_even_unknown_ones_move_nothing() -> None:
    story = IssueStory("i-1", "CA")
    assert moved_away(story.opened()) is None
    unknown = story.grouped().model_copy(update={"type": "IssueSomethingNew"})
    assert moved_away(unknown) is None


def test_the_dry_run_would_delete_in_the_old_channel_and_post_in_the_new() -> None:
    story = IssueStory("i-1", "CA")
    story.opened()
    assert describe(story.moved("CB", "1714564800.000100")) == (
        "dry-run: would delete in CA: the message 1714564800.000100 of issue i-1 (moved to CB)"
    )
    assert describe(story.arrived()).startswith("dry-run: would post in CB: ")


def test_the_dry_run_would_reply_to_the_issues_message_for_a_reminder() -> None:
    story = IssueStory("i-1", "CA")
    story.opened()
    assert describe(story.reminded()).startswith(
        "dry-run: would reply in CA to the message of issue i-1: :alarm_clock: Reminder: "
    )


def test_a_move_replaces_the_state_waiting_in_the_old_channel_by_a_delete() -> None:
    queue = ChannelQueue("CA", 1.0)
    story = IssueStory("i-1", "CA")
    queue.offer(story.opened().issue, 0, 4, finish=False)
    queue.offer_delete(story.moved("CB").issue, 0, 5, "1714564800.000100")
    [entry] = queue.pending.values()
    assert (entry.delete, entry.old_ts, entry.offset, entry.low_offset) == (
        True,
        "1714564800.000100",
        5,
        4,
    )

    def method_of(pending: Pending) -> str:
        return DELETE if pending.delete else POST

    queue.block(POST, 10)
    # A blocked post does not hold up a delete.
    assert queue.candidates(method_of, lambda p: (0, 0.0)) == [(entry, DELETE, (0, 0.0))]


def test_an_issue_back_before_its_delete_ran_is_shown_again_instead() -> None:
    queue = ChannelQueue("CA", 1.0)
    story = IssueStory("i-1", "CA")
    story.opened()
    queue.offer_delete(story.moved("CB").issue, 0, 5, None)
    story.arrived()
    story.moved("CA")
    queue.offer(story.arrived().issue, 0, 9, finish=False)
    [entry] = queue.pending.values()
    assert (entry.delete, entry.issue.channel_id, entry.low_offset) == (False, "CA", 5)
