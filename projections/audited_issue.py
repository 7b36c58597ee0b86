"""`AuditedIssue`: an issue as the audit store knows it, one stored event per issue version.

The fold decides; the audit only records. Each `issue-events` record becomes one
`AuditedIssue.Recorded` event at the issue's own version (`originator_version` =
`IssueEventRecord.version`, so version 1 is `IssueOpened`), and the event carries the whole
wire record, issue snapshot included. That is what makes `Repository.get(issue_id,
version=N)` answer "the issue as it was at version N" without re-implementing the fold:
the state after an event is the snapshot it carries.

Because every event is self-contained, the aggregate tolerates versions that arrive late or
not at all (an issue moved to another channel continues on another partition, so its
events can be read out of order): a recorded version never depends on the ones before it.
The audit store decides which events to record; this class only rebuilds state from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import (
    BaseAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
    OriginatorIDError,
    OriginatorVersionError,
)

from domain.issue_state import IssueSnapshot
from domain.records import IssueEventRecord


class AuditedIssue(BaseAggregate[str]):
    """The recorded history of one issue; its state is the latest recorded snapshot."""

    @dataclass(frozen=True)  # the metaclass makes it one anyway; this tells type checkers
    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        """Base event with text ids (the library's `DomainEvent` insists on UUIDs)."""

        originator_id: str
        originator_version: int
        timestamp: datetime

    @dataclass(frozen=True)
    class Recorded(Event):
        """One issue event as read from `issue-events` (JSON form of the wire record)."""

        record: dict[str, Any]

        def mutate(self, aggregate: Any) -> Any:
            """Build or advance the aggregate; versions must rise but may skip.

            The library's default insists on `version + 1`; here a skipped version is a
            gap in what was recorded, not a reason to refuse what was.
            """
            if aggregate is None:
                aggregate = AuditedIssue.__new__(AuditedIssue)
                aggregate.__base_init__(
                    originator_id=self.originator_id,
                    originator_version=self.originator_version,
                    timestamp=self.timestamp,
                )
            elif self.originator_id != aggregate.id:
                raise OriginatorIDError(self.originator_id, aggregate.id)
            elif self.originator_version <= aggregate.version:
                raise OriginatorVersionError(self.originator_version, aggregate.version + 1)
            self.apply(aggregate)
            aggregate.version = self.originator_version
            aggregate.modified_on = self.timestamp
            return aggregate

        def apply(self, aggregate: Any) -> None:
            aggregate.record = self.record

    if TYPE_CHECKING:  # set by `Recorded.apply`; not a dataclass field of the aggregate
        record: dict[str, Any]

    @property
    def event(self) -> IssueEventRecord:
        """The wire record of the event that produced this version."""
        return IssueEventRecord.model_validate(self.record)

    @property
    def snapshot(self) -> IssueSnapshot:
        """The issue's state at this version, as the fold published it."""
        return self.event.issue

    @staticmethod
    def of(event: IssueEventRecord) -> AuditedIssue:
        """The issue as it was right after this event (every event carries the whole state)."""
        issue: AuditedIssue = AuditedIssue.recorded(event).mutate(None)
        return issue

    @staticmethod
    def recorded(event: IssueEventRecord) -> AuditedIssue.Recorded:
        """The stored event for one wire record, at the record's own issue version."""
        return AuditedIssue.Recorded(
            originator_id=event.issue_id,
            originator_version=event.version,
            timestamp=_aware(event.occurred_at),
            record=event.model_dump(mode="json"),
        )


def _aware(moment: datetime) -> datetime:
    """The library stores ISO text and compares times; a naive time would be ambiguous."""
    if moment.tzinfo is None:
        raise ValueError(f"issue event time {moment.isoformat()} has no time zone")
    return moment
