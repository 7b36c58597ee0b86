"""The lookup read model as a pure fold over `issue-events`.

Every issue event carries the issue's full snapshot and its version, so the row of an issue
is simply the snapshot of its newest event: the event type does not matter, and new event
types need no change here. Applying only strictly newer versions makes the fold idempotent
(a replayed or duplicated event is a no-op) and insensitive to an older event arriving late.

The store (`projections.lookup_store`) applies the same rules inside a database transaction;
`fold_lookup` is the in-memory reference it can be compared with after a replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from domain.alertmanager import STATUS_PLACEHOLDER
from domain.issue_state import IssueSnapshot
from domain.records import IssueEventRecord
from domain.severity import Severity

# The columns of the `issues` table (`projections.lookup_tables`). Those named after a
# snapshot field hold its value, to be filtered and sorted on; the others say which event
# left the row. `snapshot` holds the issue exactly as the views serve it (JSON: every
# snapshot field, then the event that left the row), so a view answers with stored text.
# The last four exist for queries: `search_text` (header and text, case-folded, for `q`),
# `labels` (JSON: what label matchers read), `severity_rank` (to sort by severity) and
# `acknowledged` (1 while someone has acknowledged the issue, for the counts).
ISSUE_COLUMNS: tuple[str, ...] = (
    "id",
    "channel_id",
    "correlation_id",
    "status",
    "severity",
    "alert_count",
    "header",
    "text",
    "opened_at",
    "updated_at",
    "resolved_at",
    "version",
    "last_event_type",
    "last_event_id",
    "snapshot",
    "last_alert_at",
    "slack_ts",
    "search_text",
    "labels",
    "severity_rank",
    "acknowledged",
)
# Alert fields longer than this are prose, not something to match on.
_LABEL_FIELD_MAX = 256


def should_apply(stored_version: int | None, event_version: int) -> bool:
    """Whether an event moves the stored row forward: only a strictly newer version does."""
    return stored_version is None or event_version > stored_version


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z` suffix, the one spelling every view uses."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def issue_row(event: IssueEventRecord) -> dict[str, Any]:
    """The `issues` row an event leaves behind (datetimes as aware UTC values)."""
    return snapshot_row(
        event.issue,
        id=event.issue_id,
        version=event.version,
        last_event_type=event.type,
        last_event_id=event.event_id,
        last_alert_at=last_alert_at(event),
    )


def snapshot_row(issue: IssueSnapshot, **of_event: Any) -> dict[str, Any]:
    """The `issues` row of an issue snapshot, given what `issue_row` takes from its event.

    The projector builds one per event it applies, so the view document is made straight
    from the snapshot's JSON form rather than written out and read back (`issue_view` of
    the row gives the same document).
    """
    fields = issue.__dict__
    values = {name: _column_value(fields[name]) for name in _SNAPSHOT_COLUMNS} | of_event
    values["header"] = view_header(issue.header)
    view = issue.model_dump(mode="json")
    view.update((name, _view_value(values[name])) for name in _SNAPSHOT_COLUMNS)
    view.update((name, values[name]) for name in _VIEW_EVENT_FIELDS)
    values["snapshot"] = view_document(view)
    values["search_text"] = search_text(issue.header, issue.text)
    values["labels"] = orjson.dumps(alert_labels(issue.last_alert)).decode()
    values["severity_rank"] = Severity(issue.severity).priority
    values["acknowledged"] = int(issue.acknowledged_by is not None)
    return {name: values[name] for name in ISSUE_COLUMNS}


def view_header(header: str | None) -> str | None:
    """The header as the views show it: without the `:status:` placeholder, which only Slack
    fills in (with the status emoji)."""
    if header is None or STATUS_PLACEHOLDER not in header:
        return header
    return " ".join(header.replace(STATUS_PLACEHOLDER, " ").split())


def upgraded_row(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A row written by an earlier layout of the table (its snapshot without the event's
    fields, no query columns), as the current layout holds it."""
    issue = IssueSnapshot.model_validate(orjson.loads(stored["snapshot"]))
    return snapshot_row(issue, **{name: stored[name] for name in _OF_EVENT})


_OF_EVENT = ("id", "version", "last_event_type", "last_event_id", "last_alert_at")
# The event's fields a view shows after the snapshot's, and the columns that hold a
# snapshot field (the view shows the column's value: instants in UTC).
_VIEW_EVENT_FIELDS = ("version", "last_event_type", "last_event_id")
_SNAPSHOT_COLUMNS = tuple(name for name in ISSUE_COLUMNS if name in IssueSnapshot.model_fields)


def view_document(view: Mapping[str, Any]) -> str:
    """An issue view as the JSON text the API sends."""
    return orjson.dumps(view).decode()


def search_text(header: str, text: str) -> str:
    """What `q` searches: header and text, case-folded once here rather than per query."""
    return f"{header}\n{text}".casefold()


def alert_labels(alert: Mapping[str, Any]) -> dict[str, str]:
    """What label matchers (`filter=team="db"`) read of an issue's latest alert: its labels
    (Alertmanager alerts keep them in `metadata.labels`), and its own short scalar fields
    (Slack Manager JSON names: `severity`, `host`, `routeKey`…) where it has no such label."""
    fields: dict[str, str] = {}
    for name, value in alert.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, int | float):
            text = str(value)
        else:
            continue
        if len(text) <= _LABEL_FIELD_MAX:
            fields[name] = text
    metadata = alert.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, Mapping) else None
    if isinstance(labels, Mapping):
        fields.update({str(k): str(v) for k, v in labels.items()})
    return fields


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value)
    return value.value if isinstance(value, Enum) else value


def last_alert_at(event: IssueEventRecord) -> datetime:
    """When the issue's latest alert happened: its timestamp, else the issue's last change.

    Kept as a column so retention can find expired alert bodies without parsing snapshots.
    """
    stamp = event.issue.last_alert.get("timestamp")
    if isinstance(stamp, str):
        try:
            return as_utc(datetime.fromisoformat(stamp))
        except ValueError:
            pass
    return as_utc(event.issue.updated_at)


def issue_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready issue dict served by the views, built from an `issues` row: every
    snapshot field (from its column where it has one), then the event that left the row."""
    snapshot = orjson.loads(row["snapshot"]) if row.get("snapshot") else {}
    fields = {
        name: _view_value(row[name]) if name in row else snapshot.get(name, absent)
        for name, absent in _ABSENT.items()
    }
    fields["header"] = view_header(fields["header"])
    return fields | {name: row[name] for name in ("version", "last_event_type", "last_event_id")}


def _view_value(value: Any) -> Any:
    return iso_utc(value) if isinstance(value, datetime) else value


# What each snapshot field stands for when a stored snapshot lacks it, having been written
# before the field existed: its default, and no alert body for a missing `last_alert`.
_ABSENT: dict[str, Any] = {
    name: None if field.is_required() else field.get_default(call_default_factory=True)
    for name, field in IssueSnapshot.model_fields.items()
} | {"last_alert": {}}


def latest_events(events: Iterable[IssueEventRecord]) -> dict[str, IssueEventRecord]:
    """The newest event of each issue (issue id → event), by `should_apply`.

    The first of several events with the same version wins, as it would in the store.
    """
    latest: dict[str, IssueEventRecord] = {}
    for event in events:
        current = latest.get(event.issue_id)
        if should_apply(None if current is None else current.version, event.version):
            latest[event.issue_id] = event
    return latest


def fold_lookup(events: Iterable[IssueEventRecord]) -> dict[str, dict[str, Any]]:
    """The `issues` rows (issue id → row) that a list of events produces."""
    return {issue_id: issue_row(event) for issue_id, event in latest_events(events).items()}


def folded_inputs(events: Iterable[IssueEventRecord]) -> dict[tuple[str, int], int]:
    """How far the fold had got in each input partition, by what these events say:
    (input topic, partition) → the next offset not yet folded.

    An event says the fold had applied every record below its `folded_before` mark of each
    input topic of its partition, and its cause itself. Once the view holds an event, it
    therefore holds every effect of those inputs that landed on the same partition: the
    fold writes a partition's events in the order it decides them.
    """
    marks: dict[tuple[str, int], int] = {}
    for event in events:
        partition = event.cause.partition
        for topic, offset in event.folded_before.items():
            key = (topic, partition)
            marks[key] = max(marks.get(key, 0), offset)
        key = (event.cause.topic, partition)
        marks[key] = max(marks.get(key, 0), event.cause.offset + 1)
    return marks
