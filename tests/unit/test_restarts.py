"""How `alertfold up` treats a part that died."""

from __future__ import annotations

from app.restarts import BROKER_UNAVAILABLE, CONFIGURATION_ERROR, Restarts


def test_a_crashed_part_is_started_again_after_a_pause_that_doubles() -> None:
    restarts = Restarts(first_pause=1, max_pause=30)
    assert [restarts.after_crash("worker", 1, now=t) for t in (0, 10, 20)] == [1, 2, 4]


def test_the_pause_is_capped() -> None:
    restarts = Restarts(limit=10, first_pause=1, max_pause=5)
    pauses = [restarts.after_crash("worker", 1, now=t) for t in range(6)]
    assert pauses[-1] == 5


def test_too_many_crashes_in_the_window_stop_everything() -> None:
    restarts = Restarts(limit=3, window_seconds=60)
    assert [restarts.after_crash("api", 1, now=t) for t in (0, 1, 2)] == [1, 2, 4]
    assert restarts.after_crash("api", 1, now=3) is None


def test_crashes_older_than_the_window_are_forgotten() -> None:
    restarts = Restarts(limit=2, window_seconds=60)
    restarts.after_crash("api", 1, now=0)
    restarts.after_crash("api", 1, now=1)
    assert restarts.after_crash("api", 1, now=100) == 1


def test_a_configuration_error_is_not_retried() -> None:
    assert Restarts().after_crash("notifier", CONFIGURATION_ERROR, now=0) is None


def test_each_part_has_its_own_count() -> None:
    restarts = Restarts(limit=1)
    restarts.after_crash("worker", 1, now=0)
    assert restarts.after_crash("projector", 1, now=0) == 1


def test_a_part_waiting_for_the_broker_is_started_again_for_as_long_as_it_is_away() -> None:
    restarts = Restarts(limit=2, window_seconds=300, first_pause=1, max_pause=30)
    pauses = [restarts.after_crash("worker", BROKER_UNAVAILABLE, now=t) for t in range(0, 70, 7)]
    assert None not in pauses and pauses[-1] == 30
    assert restarts.after_crash("worker", 1, now=71) is None  # a real crash still counts
