"""The audit store: every issue event, kept in an `eventsourcing` event store.

Each record read from `issue-events` is stored as one `AuditedIssue.Recorded` event at the
issue's own version, by the library's process recorder (SQLite or PostgreSQL), together
with a tracking record of the consumer's position in the same transaction. The library's
repository then returns an issue as it was at any version.

Rules for what arrives (the log is at-least-once, so it holds duplicates after crashes):
- a version already recorded with the same `event_id` is a duplicate: nothing happens;
- a version already recorded with a *different* `event_id` is a conflict (two decisions
  for one version: a bug upstream). The first one recorded stays, the other is counted in
  `conflicts` and logged, and consuming goes on: an audit must not stall on a bad record;
- a version may arrive before its predecessors, or never (an issue moved to another channel
  continues on another partition, read in another order). It is recorded at its own
  version anyway, since each event carries the issue's full state; a late predecessor
  fills its slot when it comes. Queries for a version that is not there say so.

Positions are tracked per partition as the next offset to read (`Tracking` named
`projection:topic[partition]`), one transaction per partition and batch, so a restart
resumes exactly where the last committed batch ended.

The store exists in generations like the lookup view (`projections.audit_generations`):
generation N keeps its events in its own tables (application `AlertfoldAudit`, then
`AlertfoldAuditG2`, …) so `alertfold replay` can build a new one beside the live one. A
store opened with `follow` moves to the live generation when a replay switched it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking
from eventsourcing.utils import Environment, EnvType
from sqlalchemy.engine import make_url

from domain.records import IssueEventRecord
from infra.event_store import event_store_environment, is_postgres_url
from projections.audit_history import HistoryEntry, history_entry, iso_z
from projections.audited_issue import AuditedIssue
from projections.lookup import issue_row, issue_view

log = logging.getLogger(__name__)

Record = tuple[int, int, IssueEventRecord]
RACE_ATTEMPTS = 5  # writes refused because another auditor wrote the same first


class AuditQueryError(LookupError):
    """A question the audit cannot answer; the message says why, for people to act on."""


class UnknownIssue(AuditQueryError):
    pass


class VersionNotFound(AuditQueryError):
    pass


class BeforeOpening(AuditQueryError):
    pass


class AuditLog(Application[str]):
    """The library application holding the audit's events.

    Its name prefixes the PostgreSQL tables (`alertfoldaudit_events`,
    `alertfoldaudit_tracking`), which keeps them apart from the lookup view's tables when
    both live in the `DATABASE_URL` database. It is configured only from the environment
    given to it, never from the process environment, so alertfold's settings are the only
    settings.
    """

    name = "AlertfoldAudit"

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder writes tracking records with the events, atomically.
        return self.factory.process_recorder()


class AuditStore:
    """Records issue events (for the projector) and answers history questions (for people)."""

    def __init__(
        self,
        database_url: str,
        generation: int = 1,
        *,
        follow: Callable[[], int] | None = None,
    ) -> None:
        self._url = database_url
        self._follow = follow  # the live generation, when this store serves the live one
        self.generation = generation
        self._app = open_audit_log(database_url, generation)
        self.conflicts = 0

    @classmethod
    def open(
        cls, database_url: str, generation: int = 1, *, follow: Callable[[], int] | None = None
    ) -> AuditStore:
        """The store in `database_url` at `generation`, its tables created if missing."""
        return cls(database_url, generation, follow=follow)

    @property
    def _recorder(self) -> ProcessRecorder:
        return cast(ProcessRecorder, self._app.recorder)

    def follow_live(self) -> bool:
        """Move to the live generation if a replay switched it; True when it moved."""
        if self._follow is None:
            return False
        live = self._follow()
        if live == self.generation:
            return False
        previous = self._app
        self._app = open_audit_log(self._url, live)
        self.generation = live
        previous.close()
        log.info("audit store: following the switch to generation %d", live)
        return True

    def close(self) -> None:
        self._app.close()

    def count_events(self) -> int:
        """How many issue events this generation holds."""
        return int(self._recorder.max_notification_id() or 0)

    # -- writing (the projector's side) -----------------------------------------------------

    def positions(self, projection: str, topic: str, partitions: Collection[int]) -> dict[int, int]:
        """Partition → next offset to consume, for the given partitions that have one."""
        found: dict[int, int] = {}
        for partition in sorted(partitions):
            stored = self._recorder.max_tracking_id(_tracking_name(projection, topic, partition))
            if stored is not None:
                found[partition] = stored
        return found

    def apply_batch(
        self,
        projection: str,
        topic: str,
        records: Sequence[Record],
        *,
        next_offsets: Mapping[int, int] | None = None,
    ) -> int:
        """Record `(partition, offset, event)`s and advance positions; returns events stored.

        Each partition's next offset becomes the highest record offset + 1, or the value in
        `next_offsets` when further. A partition whose stored position is already there
        (a replay after a restart, or another auditor got there first) is left alone.
        """
        by_partition: dict[int, list[IssueEventRecord]] = defaultdict(list)
        positions: dict[int, int] = {}
        for partition, offset, event in records:
            by_partition[partition].append(event)
            positions[partition] = max(positions.get(partition, 0), offset + 1)
        for partition, offset in (next_offsets or {}).items():
            positions[partition] = max(positions.get(partition, 0), offset)
        stored = 0
        for partition, next_offset in sorted(positions.items()):
            name = _tracking_name(projection, topic, partition)
            stored += self._record(name, next_offset, by_partition.get(partition, []))
        return stored

    def _record(self, tracking_name: str, next_offset: int, events: list[IssueEventRecord]) -> int:
        """One partition's share of a batch: its new events and its position, atomically.

        Auditors running side by side each read every partition, so another may record
        the same events or a further position between this one's reading what is stored
        and writing: the database refuses the write, and the share is decided again from
        what is stored now (each refusal means the other made progress).
        """
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                return self._record_once(tracking_name, next_offset, events)
            except IntegrityError:
                if attempt == RACE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def _record_once(
        self, tracking_name: str, next_offset: int, events: list[IssueEventRecord]
    ) -> int:
        if next_offset <= (self._recorder.max_tracking_id(tracking_name) or 0):
            return 0
        new = self._new_events(events)
        tracking = Tracking(application_name=tracking_name, notification_id=next_offset)
        if new:
            self._app.events.put([AuditedIssue.recorded(e) for e in new], tracking=tracking)
        else:
            self._recorder.insert_tracking(tracking)
        return len(new)

    def _new_events(self, events: list[IssueEventRecord]) -> list[IssueEventRecord]:
        """The events whose issue version is not recorded yet (first of a batch wins)."""
        by_issue: dict[str, list[IssueEventRecord]] = defaultdict(list)
        for event in events:
            by_issue[event.issue_id].append(event)
        new: list[IssueEventRecord] = []
        for issue_id, issue_events in by_issue.items():
            versions = [e.version for e in issue_events]
            known = {
                stored.originator_version: cast(AuditedIssue.Recorded, stored).record["event_id"]
                for stored in self._app.events.get(
                    issue_id, gt=min(versions) - 1, lte=max(versions)
                )
            }
            for event in issue_events:
                recorded_id = known.get(event.version)
                if recorded_id is None:
                    known[event.version] = event.event_id
                    new.append(event)
                elif recorded_id != event.event_id:
                    self.conflicts += 1
                    log.warning(
                        "audit: issue %s version %d is recorded as event %s; ignoring a "
                        "different event %s (%s) for the same version",
                        issue_id,
                        event.version,
                        recorded_id,
                        event.event_id,
                        event.type,
                    )
        return new

    # -- reading (people's side) -------------------------------------------------------------

    def events(self, issue_id: str) -> list[IssueEventRecord]:
        """Every recorded event of the issue, by version; `UnknownIssue` if there are none."""
        self.follow_live()
        events = [
            IssueEventRecord.model_validate(cast(AuditedIssue.Recorded, stored).record)
            for stored in self._app.events.get(issue_id)
        ]
        if not events:
            raise UnknownIssue(f"no issue with id {issue_id} in the audit store")
        return events

    def history(self, issue_id: str) -> list[HistoryEntry]:
        return [history_entry(event) for event in self.events(issue_id)]

    def at_version(self, issue_id: str, version: int) -> AuditedIssue:
        """The issue as it was right after the event that made it `version`."""
        self.follow_live()
        try:
            issue = cast(AuditedIssue, self._app.repository.get(issue_id, version=version))
        except AggregateNotFoundError:
            issue = None
        if issue is None or issue.version != version:
            recorded = [e.version for e in self.events(issue_id)]
            raise VersionNotFound(
                f"issue {issue_id} has no version {version}: recorded versions are "
                f"{_ranges(recorded)}"
            )
        return issue

    def at_time(self, issue_id: str, moment: datetime) -> AuditedIssue:
        """The issue as it was at `moment`: after its last event that happened by then."""
        events = self.events(issue_id)
        then = [e for e in events if e.occurred_at <= moment]
        if not then:
            raise BeforeOpening(
                f"issue {issue_id} did not exist yet at {iso_z(moment)}: its first recorded "
                f"event is at {iso_z(events[0].occurred_at)}"
            )
        return self.at_version(issue_id, then[-1].version)


def audit_log_name(generation: int) -> str:
    """The library application name, which also names the generation's tables."""
    return AuditLog.name if generation == 1 else f"{AuditLog.name}G{generation}"


def generation_url(database_url: str, generation: int) -> str:
    """Where a generation lives: its own SQLite file (the library's SQLite tables have fixed
    names), or the same PostgreSQL database (tables named by the application)."""
    if generation == 1 or is_postgres_url(database_url):
        return database_url
    url = make_url(database_url)
    path = Path(url.database or "")
    return url.set(
        database=str(path.with_name(f"{path.stem}-g{generation}{path.suffix}"))
    ).render_as_string(hide_password=False)


def open_audit_log(database_url: str, generation: int, attempts: int = 5) -> AuditLog:
    """The generation's application, its tables created if missing.

    Several processes (auditor, API) may create the tables at the same moment, and
    PostgreSQL can refuse the loser's `CREATE TYPE`; a retry then finds them made.
    """
    env = event_store_environment(generation_url(database_url, generation))
    name = audit_log_name(generation)
    generation_class = cast(type[AuditLog], type(name, (AuditLog,), {"name": name}))
    for attempt in range(1, attempts + 1):
        try:
            return generation_class(env=env)
        except Exception:
            if attempt == attempts:
                raise
            log.info("audit store: creating tables raced another process; retrying")
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def _tracking_name(projection: str, topic: str, partition: int) -> str:
    return f"{projection}:{topic}[{partition}]"


def _ranges(versions: list[int]) -> str:
    """`[1, 2, 3, 5]` → `1-3, 5`: recorded versions, gaps visible."""
    spans: list[list[int]] = []
    for version in sorted(versions):
        if spans and version == spans[-1][1] + 1:
            spans[-1][1] = version
        else:
            spans.append([version, version])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def state_view(issue: AuditedIssue) -> dict[str, Any]:
    """The issue at a past version in the live view's JSON shape (`GET /issues/{id}`)."""
    return issue_view(issue_row(issue.event))
