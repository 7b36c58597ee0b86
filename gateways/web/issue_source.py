"""What the pages read about issues, behind one small seam over the lookup view.

Pages ask `IssueSource` for a filtered page of issues, the counts, the issues the banner
warns about, one issue, and which versions the view holds. `LookupIssueSource` answers from
the lookup view's live tables today: channel, status, severity and free text in SQL (the
columns and indexes exist), label matchers on each row's latest alert in Python, over a
bounded number of rows per page. When the read side answers these questions itself, its
queries plug in here and the pages stay as they are.

Pages are cut by a cursor (the sort key of the last row read), not an offset, so a page
costs the same however deep it is and rows changing meanwhile are not shown twice.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from domain.silences import Matcher
from projections.lookup import issue_view
from projections.lookup_store import LookupStore
from projections.lookup_tables import lookup_tables

Issue = dict[str, Any]
STATUSES = ("open", "resolved", "archived")
SEVERITIES = ("panic", "error", "warning", "info")
ALARMING = ("panic", "error")
# Rows read per page at most when label matchers filter in Python.
SCAN_BUDGET = 2000
VERSIONS_CHUNK = 500


@dataclass(frozen=True)
class IssueFilter:
    channel_id: str = ""
    status: str = "open"  # "" for any: open issues first
    severity: str = ""
    text: str = ""
    labels: tuple[Matcher, ...] = ()


@dataclass(frozen=True)
class IssuePage:
    issues: list[Issue]
    next_cursor: str | None


@dataclass(frozen=True)
class IssueCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    open_by_severity: dict[str, int] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return self.by_status.get("open", 0)


class IssueSource(Protocol):
    def page(self, wanted: IssueFilter, cursor: str | None, limit: int) -> IssuePage: ...

    def counts(self, channel_id: str = "") -> IssueCounts: ...

    def alarming(self, limit: int) -> tuple[int, list[Issue]]: ...

    def issue(self, issue_id: str) -> Issue | None: ...

    def open_issues(self) -> Iterator[Issue]: ...

    def view_versions(self, issue_ids: Collection[str]) -> dict[str, int]: ...


class LookupIssueSource:
    def __init__(self, store: LookupStore) -> None:
        self._store = store
        self._postgres = store.engine.dialect.name == "postgresql"

    def _issues(self) -> sa.Table:
        return lookup_tables(self._store.live_generation()).issues

    def page(self, wanted: IssueFilter, cursor: str | None, limit: int) -> IssuePage:
        issues = self._issues()
        # Open issues first when every status is shown; with one status the rank is constant,
        # and leaving it out lets the (status, updated_at) index order the rows.
        rank = (
            sa.case((issues.c.status == "open", 0), else_=1) if not wanted.status else sa.literal(0)
        )
        select = sa.select(issues, rank.label("rank")).where(*self._conditions(issues, wanted))
        after = _read_cursor(cursor)
        if after is not None:
            r, updated_at, issue_id = after
            select = select.where(
                sa.or_(
                    rank > r,
                    sa.and_(rank == r, issues.c.updated_at < updated_at),
                    sa.and_(rank == r, issues.c.updated_at == updated_at, issues.c.id < issue_id),
                )
            )
        order = (issues.c.updated_at.desc(), issues.c.id.desc())
        select = select.order_by(*order) if wanted.status else select.order_by(rank, *order)
        budget = SCAN_BUDGET if wanted.labels else limit + 1
        found: list[Issue] = []
        last_key: tuple[int, datetime, str] | None = None
        read = 0
        with self._store.engine.connect() as conn:
            for row in conn.execute(select.limit(budget)):
                if len(found) == limit:
                    return IssuePage(found, _write_cursor(last_key))
                read += 1
                last_key = (row.rank, row.updated_at, row.id)
                issue = issue_view(row._asdict())
                if all(matcher.matches(issue["last_alert"]) for matcher in wanted.labels):
                    found.append(issue)
        budget_spent = bool(wanted.labels) and read == budget  # more rows may follow
        return IssuePage(found, _write_cursor(last_key) if budget_spent else None)

    def _conditions(self, issues: sa.Table, wanted: IssueFilter) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if wanted.channel_id:
            conditions.append(issues.c.channel_id == wanted.channel_id)
        if wanted.status:
            conditions.append(issues.c.status == wanted.status)
        if wanted.severity:
            conditions.append(issues.c.severity == wanted.severity)
        if wanted.text:
            conditions.append(
                sa.or_(
                    issues.c.id == wanted.text,
                    *(
                        column.icontains(wanted.text, autoescape=True)
                        for column in (issues.c.header, issues.c.text, issues.c.correlation_id)
                    ),
                )
            )
        return conditions

    def counts(self, channel_id: str = "") -> IssueCounts:
        issues = self._issues()
        select = sa.select(issues.c.status, issues.c.severity, sa.func.count()).group_by(
            issues.c.status, issues.c.severity
        )
        if channel_id:
            select = select.where(issues.c.channel_id == channel_id)
        by_status: dict[str, int] = {}
        by_severity: dict[str, int] = {}
        with self._store.engine.connect() as conn:
            for status, severity, count in conn.execute(select).tuples():
                by_status[status] = by_status.get(status, 0) + count
                if status == "open":
                    by_severity[severity] = by_severity.get(severity, 0) + count
        return IssueCounts(by_status, by_severity)

    def alarming(self, limit: int) -> tuple[int, list[Issue]]:
        """How many open panic or error issues nobody acknowledged, and the newest of them."""
        issues = self._issues()
        condition = sa.and_(
            issues.c.status == "open",
            issues.c.severity.in_(ALARMING),
            self._unacknowledged(issues),
        )
        count = sa.select(sa.func.count()).select_from(issues).where(condition)
        newest = (
            sa.select(issues)
            .where(condition)
            .order_by(issues.c.updated_at.desc(), issues.c.id.desc())
            .limit(limit)
        )
        with self._store.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            shown = [issue_view(row._asdict()) for row in conn.execute(newest)] if total else []
        return total, shown

    def _unacknowledged(self, issues: sa.Table) -> sa.ColumnElement[bool]:
        # A JSON null and an absent key both read as SQL NULL on either database.
        if self._postgres:
            snapshot = sa.cast(issues.c.snapshot, postgresql.JSONB)
            acknowledged: sa.ColumnElement[Any] = snapshot["acknowledged_by"].astext
            return acknowledged.is_(None)
        return sa.func.json_extract(issues.c.snapshot, "$.acknowledged_by").is_(None)

    def issue(self, issue_id: str) -> Issue | None:
        return self._store.get_issue(issue_id)

    def open_issues(self) -> Iterator[Issue]:
        """Every open issue, newest change first, read in chunks."""
        cursor: str | None = None
        while True:
            page = self.page(IssueFilter(status="open"), cursor, 500)
            yield from page.issues
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def view_versions(self, issue_ids: Collection[str]) -> dict[str, int]:
        issues = self._issues()
        ids = list(issue_ids)
        held: dict[str, int] = {}
        with self._store.engine.connect() as conn:
            for start in range(0, len(ids), VERSIONS_CHUNK):
                chunk = ids[start : start + VERSIONS_CHUNK]
                select = sa.select(issues.c.id, issues.c.version).where(issues.c.id.in_(chunk))
                held.update((issue_id, version) for issue_id, version in conn.execute(select))
        return held


def _write_cursor(key: tuple[int, datetime, str] | None) -> str | None:
    if key is None:
        return None
    rank, updated_at, issue_id = key
    text = json.dumps([rank, updated_at.isoformat(), issue_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _read_cursor(cursor: str | None) -> tuple[int, datetime, str] | None:
    """The key a cursor names; a cursor that is not one of ours starts from the top."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        rank, updated_at, issue_id = json.loads(text)
        return int(rank), datetime.fromisoformat(updated_at), str(issue_id)
    except (ValueError, TypeError):
        return None
