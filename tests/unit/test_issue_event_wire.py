"""Reading only which issue an `issue-events` value changed, for readers that need no more."""

from __future__ import annotations

import pytest

from harness.stories import IssueStory
from wire.envelope import UndecodableInput
from wire.issue_events import changed_issue, encode_issue_event


def test_the_issue_id_and_version_are_read_from_an_event() -> None:
    story = IssueStory("i-1", "C1", "db-down")
    story.opened()
    story.grouped()
    assert changed_issue(encode_issue_event(story.events[-1])) == ("i-1", 2)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"[1, 2]",
        b'{"issue_id": "i-1"}',
        b'{"issue_id": "i-1", "version": "2"}',
        b'{"issue_id": "i-1", "version": true}',
        b'{"issue_id": 7, "version": 2}',
    ],
)
def test_a_value_without_an_issue_id_and_a_version_is_undecodable(raw: bytes | None) -> None:
    with pytest.raises(UndecodableInput, match="invalid issue event"):
        changed_issue(raw)


def test_the_snapshot_is_not_read() -> None:
    assert changed_issue(b'{"issue_id": "i-1", "version": 3, "issue": "anything"}') == ("i-1", 3)
