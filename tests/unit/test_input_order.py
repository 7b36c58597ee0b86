"""Repeating the fold's interleaving of alerts and ticks from the decisions it wrote."""

from __future__ import annotations

from agents.input_order import Decision, InputRange, decisions_in, fold_plan
from domain.records import InputPosition
from harness.stories import issue_event

TOPICS = ("alerts", "ticks")


def decision(topic: str, offset: int, alerts: int, ticks: int) -> Decision:
    before = {"alerts": alerts, "ticks": ticks}
    before[topic] = offset
    return Decision(InputPosition(topic=topic, partition=0, offset=offset), before)


def test_inputs_below_a_decisions_marks_are_folded_before_its_cause() -> None:
    plan = fold_plan(
        [decision("alerts", 2, alerts=2, ticks=5), decision("ticks", 7, alerts=3, ticks=7)],
        {},
        TOPICS,
    )
    assert plan == [
        InputRange("ticks", 0, 5),
        InputRange("alerts", 0, 3),
        InputRange("ticks", 5, 8),
    ]


def test_a_decision_repeated_after_a_crash_is_not_folded_twice() -> None:
    first = decision("alerts", 0, alerts=0, ticks=0)
    plan = fold_plan([first, decision("ticks", 0, alerts=1, ticks=0), first], {}, TOPICS)
    assert plan == [InputRange("alerts", 0, 1), InputRange("ticks", 0, 1)]


def test_decisions_before_the_cursors_were_folded_already() -> None:
    plan = fold_plan(
        [decision("alerts", 0, alerts=0, ticks=0), decision("alerts", 4, alerts=4, ticks=2)],
        {"alerts": 1, "ticks": 1},
        TOPICS,
    )
    assert plan == [InputRange("ticks", 1, 2), InputRange("alerts", 1, 5)]


def test_decisions_in_keeps_each_cause_once_in_log_order() -> None:
    a = issue_event(cause=InputPosition(topic="alerts", partition=0, offset=3))
    b = issue_event(version=2, cause=InputPosition(topic="ticks", partition=0, offset=1))
    assert [d.cause.offset for d in decisions_in([a, b, a])] == [3, 1]
