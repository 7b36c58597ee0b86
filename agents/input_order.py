"""The order in which the fold took its inputs, read back from the decisions it wrote.

A partition's actor folds two logs, `alerts` and `ticks`, in whatever order their records
reached it; the same inputs in another order can decide differently (a tick folded before
or after an alert). Each issue event therefore names its cause and where the fold stood in
every input topic (`folded_before`). From those, `fold_plan` lays out an order that repeats
every decision exactly:

- before a decision, the inputs below its `folded_before` marks (which decided nothing,
  or they would be decisions themselves) in any order: none of them changed any state;
- then its cause;
- a cause seen again (a decision repeated after a crash) is not folded twice.

The worker uses it after a restart to re-fold decisions whose state was lost, before
anything else; `alertfold verify` uses it to re-fold a whole log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.records import InputPosition, IssueEventRecord


@dataclass(frozen=True)
class Decision:
    cause: InputPosition
    folded_before: Mapping[str, int]


@dataclass(frozen=True)
class InputRange:
    """Offsets `start <= offset < end` of one input topic, folded in offset order."""

    topic: str
    start: int
    end: int


def decisions_in(events: Iterable[IssueEventRecord]) -> list[Decision]:
    """Each cause once, in the order its first event was written."""
    seen: set[InputPosition] = set()
    decisions = []
    for event in events:
        if event.cause not in seen:
            seen.add(event.cause)
            decisions.append(Decision(event.cause, event.folded_before))
    return decisions


def fold_plan(
    decisions: Sequence[Decision], cursors: Mapping[str, int], topics: Sequence[str]
) -> list[InputRange]:
    """The input ranges to fold, in order, to repeat `decisions` from `cursors` on.

    `cursors` holds the next unfolded offset of each topic; decisions whose cause lies
    before it were folded already and are skipped.
    """
    at = {topic: cursors.get(topic, 0) for topic in topics}
    plan: list[InputRange] = []
    for decision in decisions:
        cause = decision.cause
        if cause.offset < at.get(cause.topic, 0):
            continue
        for topic in topics:
            if topic != cause.topic:
                end = decision.folded_before.get(topic, at[topic])
                if end > at[topic]:
                    plan.append(InputRange(topic, at[topic], end))
                    at[topic] = end
        plan.append(InputRange(cause.topic, at.get(cause.topic, 0), cause.offset + 1))
        at[cause.topic] = cause.offset + 1
    return plan
