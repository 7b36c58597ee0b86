"""What the read models forget, and when: a pure decision given "now".

The log (`issue-events`) keeps everything forever; read models are a convenience for lookups
and keep Slack Manager's ages: closed issues 180 days, alerts 30 days.

- **Closed issues** (status `resolved` or `archived`) expire when they have not changed for
  the closed-issue age: `updated_at` is when the issue was closed or last touched, so an
  issue that still receives events is still alive. Open issues never expire.
- **Alerts**: the lookup view has no alerts table; the only alert it holds is the latest
  alert of each issue (`last_alert` inside the stored snapshot, which carries the alert's
  full body: text, fields, links, webhooks). Once that alert is older than the alert age,
  its body is stripped (`last_alert` becomes `{}`) and the issue row stays, with its own
  header, text, severity and counts. An alert's age is its timestamp (which intake sets to
  the receive time when missing or stale), or the issue's `updated_at` when it has none.

An issue that receives an event after it expired comes back with the new event's snapshot:
it changed, so it is alive again. `alertfold replay` applies the same decision to the new
generation before switching, so a replay does not resurrect what already expired.

Nothing here reads a clock: callers pass `now`, which makes the rules testable with any
instant and lets the store turn the same cutoffs into SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from projections.lookup import as_utc

CLOSED_STATUSES: tuple[str, ...] = ("resolved", "archived")

DEFAULT_CLOSED_ISSUE_DAYS = 180
DEFAULT_ALERT_DAYS = 30


@dataclass(frozen=True)
class RetentionCutoffs:
    """Instants before which things expire: a policy evaluated at one `now`."""

    closed_issues_before: datetime
    alerts_before: datetime


@dataclass(frozen=True)
class RetentionPolicy:
    """How long read models keep closed issues and alert bodies."""

    closed_issues: timedelta = timedelta(days=DEFAULT_CLOSED_ISSUE_DAYS)
    alerts: timedelta = timedelta(days=DEFAULT_ALERT_DAYS)

    @classmethod
    def of_days(cls, closed_issues: float, alerts: float) -> RetentionPolicy:
        return cls(closed_issues=timedelta(days=closed_issues), alerts=timedelta(days=alerts))

    def cutoffs(self, now: datetime) -> RetentionCutoffs:
        now = as_utc(now)
        return RetentionCutoffs(
            closed_issues_before=now - self.closed_issues, alerts_before=now - self.alerts
        )


@dataclass(frozen=True)
class RetentionResult:
    """What one retention pass changed in a read model."""

    issues_deleted: int = 0
    alerts_stripped: int = 0

    def __add__(self, other: RetentionResult) -> RetentionResult:
        return RetentionResult(
            self.issues_deleted + other.issues_deleted,
            self.alerts_stripped + other.alerts_stripped,
        )


def issue_expires(row: Mapping[str, Any], cutoffs: RetentionCutoffs) -> bool:
    """Whether an `issues` row is a closed issue untouched since before the cutoff."""
    return row["status"] in CLOSED_STATUSES and row["updated_at"] < cutoffs.closed_issues_before


def alert_expires(row: Mapping[str, Any], cutoffs: RetentionCutoffs) -> bool:
    """Whether an `issues` row still holds an alert body older than the cutoff.

    `last_alert_at` is None once the body has been stripped, so stripping happens once.
    """
    last_alert_at = row.get("last_alert_at")
    return last_alert_at is not None and last_alert_at < cutoffs.alerts_before


def snapshot_without_alert(snapshot: str) -> str:
    """The stored snapshot JSON with the alert body removed (`last_alert` = `{}`)."""
    document = orjson.loads(snapshot)
    document["last_alert"] = {}
    return orjson.dumps(document).decode()


def without_alert(row: Mapping[str, Any]) -> dict[str, Any]:
    """An `issues` row whose alert body has expired."""
    return {**row, "snapshot": snapshot_without_alert(row["snapshot"]), "last_alert_at": None}


def apply_retention(
    rows: Mapping[str, Mapping[str, Any]], now: datetime, policy: RetentionPolicy
) -> dict[str, dict[str, Any]]:
    """The `issues` rows (id → row) left after a retention pass at `now`.

    The reference the SQL store is compared with: same rows, same bytes.
    """
    cutoffs = policy.cutoffs(now)
    kept: dict[str, dict[str, Any]] = {}
    for issue_id, row in rows.items():
        if issue_expires(row, cutoffs):
            continue
        kept[issue_id] = without_alert(row) if alert_expires(row, cutoffs) else dict(row)
    return kept
