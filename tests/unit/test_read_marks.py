"""Waiting for the view to fold past a client's alerts (`after=`), as one API process does."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from gateways.api.errors import ApiError
from gateways.api.read_marks import ReadMarks
from projections.lookup_reader import LookupReader


class FoldingView:
    """The view's marks on `alerts`: partition 0 moves past offset 5 at the `reach_at`-th
    reading of them, so a test says when the view catches up in readings, not in time."""

    def __init__(self, reach_at: int | None = None, fail_at: int | None = None) -> None:
        self.readings = 0
        self.reach_at = reach_at
        self.fail_at = fail_at

    def folded(self, topic: str) -> dict[int, int]:
        assert topic == "alerts"
        self.readings += 1
        if self.readings == self.fail_at:
            raise ConnectionError("database unreachable")
        reached = self.reach_at is not None and self.readings >= self.reach_at
        return {0: 6 if reached else 3}


def marks_of(view: FoldingView) -> ReadMarks:
    return ReadMarks(cast(LookupReader, view), "alerts")


def test_many_waiters_share_one_reading_of_the_marks_per_poll() -> None:
    waiters = 50
    # Each request looks once as it arrives; then the poller's third reading finds the mark.
    view = FoldingView(reach_at=waiters + 3)
    marks = marks_of(view)

    async def wait_all() -> None:
        await asyncio.gather(*(marks.wait({0: 5}, 5_000) for _ in range(waiters)))

    asyncio.run(wait_all())
    assert view.readings == waiters + 3


def test_a_mark_already_folded_is_answered_with_one_reading() -> None:
    view = FoldingView(reach_at=1)
    asyncio.run(marks_of(view).wait({0: 5}, 5_000))
    assert view.readings == 1


def test_a_wait_that_runs_out_is_a_504_saying_how_far_the_view_folded() -> None:
    with pytest.raises(ApiError) as raised:
        asyncio.run(marks_of(FoldingView()).wait({0: 5, 1: 0}, 30))
    assert raised.value.status == 504
    assert raised.value.message == (
        "the view has not folded past 0:5,1:0 within 30 ms "
        "(it has folded up to, not including, 0:3,1:0)"
    )


def test_a_failed_reading_reaches_the_waiter() -> None:
    with pytest.raises(ConnectionError, match="database unreachable"):
        asyncio.run(marks_of(FoldingView(fail_at=2)).wait({0: 5}, 5_000))


def test_no_marks_asked_means_no_wait_and_no_reading() -> None:
    view = FoldingView()
    asyncio.run(marks_of(view).wait({}, 5_000))
    assert view.readings == 0
