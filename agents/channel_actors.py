"""The channels' actors: each input of a partition decided by the domain, then applied.

Every input (an alert, a tick, an interaction, a silence, a moved issue's hand-over) takes
the same two steps. `agents.decisions` reads the slots the input concerns and asks the
domain's fold what happens, writing nothing; `fold` then applies the decision: the new slots
go to the staged table and the records to send (issue events, re-keyed inputs, hand-overs,
dead letters) are returned, in order. The caller sends them and commits the staged state only
once the broker acknowledged every one (state never runs ahead of the events that explain
it), or discards it.

Nothing here reads a clock, draws a random number or touches the network, so the worker,
its crash recovery and `alertfold verify` all fold with this same code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from agents.deadline_index import DeadlineIndex
from agents.decisions import (
    Change,
    Decision,
    Partitioning,
    decide_alert,
    decide_partition_input,
    decide_tick,
)
from agents.inputs import InputRecord
from agents.issue_table import (
    SlotTable,
    write_alerting_settings,
    write_silence_book,
    write_slot,
)
from agents.staged_table import StagedTable
from domain.deadlines import next_due
from domain.errors import DomainError
from domain.fold import FoldOutcome
from domain.routing import RouteTable
from wire.dead_letters import DeadLetter
from wire.envelope import UndecodableInput
from wire.handovers import IssueHandover, encode_handover
from wire.issue_events import encode_issue_event

log = logging.getLogger("alertfold.fold")


class Destination(StrEnum):
    """Where an output goes; the caller maps each to its topic."""

    ISSUE_EVENTS = "issue-events"
    ALERTS = "alerts"
    INTERACTIONS = "interactions"
    DEAD_LETTERS = "alerts.dlq"


@dataclass(frozen=True)
class Output:
    destination: Destination
    key: bytes | None
    value: bytes
    partition: int | None = None
    timestamp: float | None = None  # seconds since the epoch; None: the producer's clock
    headers: tuple[tuple[str, bytes], ...] = ()
    # For metrics: an issue event's type, or a dead letter's kind of reason.
    kind: str = ""


@dataclass(frozen=True)
class InputTopics:
    """The names of the three input topics, which tell the records apart."""

    alerts: str
    ticks: str
    interactions: str

    @property
    def all(self) -> tuple[str, str, str]:
        return self.alerts, self.ticks, self.interactions


class ChannelActors:
    """The state of the channels this process folds, and the one way inputs change it."""

    def __init__(
        self, table: SlotTable, *, routes: RouteTable, partitions: int, topics: InputTopics
    ) -> None:
        self.table = StagedTable(table)
        self.topics = topics
        self.at = Partitioning(self.table, routes, partitions)
        self.deadlines = DeadlineIndex(self.table.items, partitions)

    def fold(self, record: InputRecord, folded_before: Mapping[str, int]) -> list[Output]:
        """Decide the record and apply the decision; returns what must be sent, in order.

        An input that cannot be read or trips a rule is dead-lettered with the reason; so
        is one that trips a bug, which must not stall every other input of the channel.
        """
        try:
            decision = self._decide(record, folded_before)
        except UndecodableInput as error:
            return [_dead_letter(record, "undecodable", error.reason, error.problems)]
        except DomainError as error:
            return [_dead_letter(record, "rule", str(error), [])]
        except Exception as error:
            log.exception("folding the record at %s failed", record.where())
            reason = f"internal error while folding: {error!r}"
            return [_dead_letter(record, "internal", reason, [])]
        return self._apply(record, decision)

    def commit(self) -> None:
        """Make the staged state durable: every output of it was acknowledged."""
        self.table.commit()

    def discard(self) -> None:
        """Drop the staged state, and what was derived from it."""
        self.table.discard()
        self.deadlines.forget()

    def _decide(self, record: InputRecord, folded_before: Mapping[str, int]) -> Decision:
        if record.topic == self.topics.ticks:
            return decide_tick(record, self.at, self.deadlines, folded_before)
        if record.topic == self.topics.interactions:
            return decide_partition_input(record, self.at, folded_before)
        return decide_alert(record, self.at, folded_before)

    def _apply(self, record: InputRecord, decision: Decision) -> list[Output]:
        outputs: list[Output] = []
        if decision.reroute is not None:
            reroute = decision.reroute
            same_topic = (
                Destination.INTERACTIONS
                if record.topic == self.topics.interactions
                else Destination.ALERTS
            )
            outputs.append(
                Output(same_topic, reroute.channel.encode(), reroute.value, reroute.partition)
            )
            log.info(
                "re-keyed the record at %s onto channel %s (partition %d)",
                record.where(),
                reroute.channel,
                reroute.partition,
            )
        if decision.silence_book is not None:
            write_silence_book(self.table, *decision.silence_book)
        if decision.alerting_settings is not None:
            write_alerting_settings(self.table, *decision.alerting_settings)
        for change in decision.changes:
            outputs.extend(self._apply_change(record, change))
        if decision.note:
            log.info("ignored the input at %s: %s", record.where(), decision.note)
        return outputs

    def _apply_change(self, record: InputRecord, change: Change) -> list[Output]:
        """Events first; the slot that remembers them is staged with them."""
        folded = change.folded
        outputs = [
            Output(
                Destination.ISSUE_EVENTS,
                change.channel.encode(),
                encode_issue_event(event),
                change.partition,
                record.timestamp,
                kind=event.type,
            )
            for event in folded.events
        ]
        slot = change.slot
        if folded.moved is not None:
            moved = folded.moved
            outputs.append(self._hand_over(change))
            slot = slot.model_copy(
                update={
                    "moved_to": moved.channel_id,
                    "moved_issue_id": moved.id,
                    "moved_issue_version": moved.version,
                }
            )
        write_slot(self.table, change.slot_key, slot)
        self.deadlines.note(change.slot_key, next_due(folded.state))
        if folded.outcome is not FoldOutcome.GROUPED:
            first = folded.events[0]
            log.info(
                "%s issue %s in %s (%s)",
                folded.outcome,
                first.issue_id,
                change.channel,
                first.correlation_id,
                extra={
                    "issue_id": first.issue_id,
                    "channel_id": change.channel,
                    "correlation_id": first.correlation_id,
                },
            )
        return outputs

    def _hand_over(self, change: Change) -> Output:
        """The moved issue, for its new channel's partition, where it is folded in order with
        that channel's inputs. A re-fold sends it again; the arrival is recognised."""
        moved = change.folded.moved
        assert moved is not None
        move = next(e for e in change.folded.events if e.type == "IssueMoved")
        handover = IssueHandover(
            issue=moved,
            from_channel_id=str(move.data.get("from_channel_id") or ""),
            reason=str(move.data.get("reason") or ""),
            at=move.occurred_at,
        )
        return Output(
            Destination.INTERACTIONS,
            moved.channel_id.encode(),
            encode_handover(handover),
            self.at.partition_of(moved.channel_id),
        )


def _dead_letter(
    record: InputRecord, kind: str, reason: str, problems: list[dict[str, str]]
) -> Output:
    letter = DeadLetter(
        reason=reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        problems=problems,
    )
    log.warning("dead-lettered record at %s: %s", record.where(), reason)
    return Output(
        Destination.DEAD_LETTERS,
        record.key,
        letter.to_json(),
        headers=tuple(letter.headers()),
        kind=kind,
    )
