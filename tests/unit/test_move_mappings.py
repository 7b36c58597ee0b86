"""Move mappings as the view shows them: made by a move, kept, removed by moving back."""

from __future__ import annotations

from harness.stories import IssueStory
from projections.move_mappings import fold_move_mappings, mapping_view


def test_move_maps_the_old_channel_and_correlation_id_to_the_new_channel() -> None:
    story = IssueStory(channel_id="C0OPS", correlation_id="db")
    story.opened()
    story.moved("C0DB")
    story.arrived()
    mappings = fold_move_mappings(story.events)
    assert list(mappings) == [("C0OPS", "db")]
    view = mapping_view(mappings[("C0OPS", "db")])
    assert (view["kind"], view["target_channel_id"], view["reason"]) == (
        "move",
        "C0DB",
        "moved by hand",
    )
    assert view["moved_by"] == {"kind": "slack_user", "id": "U0MOVER", "name": "Mover"}


def test_moving_back_removes_the_mapping_of_the_channel_it_returns_to() -> None:
    story = IssueStory(channel_id="C0OPS", correlation_id="db")
    story.opened()
    story.moved("C0DB")
    story.arrived()
    story.moved("C0OPS")
    story.arrived()
    assert list(fold_move_mappings(story.events)) == [("C0DB", "db")]
