"""The questions `GET /issues` and `GET /issues/counts` ask of the lookup view, as SQL.

One `IssueQuery` holds every filter, the order and the page; `where_clause` and
`page_statement` turn it into plain SQL with driver placeholders, in the dialect of SQLite,
PostgreSQL or MySQL. The statements are small and written here rather than built with
SQLAlchemy per request: the views answer thousands of requests a second, and building and
compiling a statement would cost more than running it.

Pages are cut with a cursor (keyset pagination): the sort key and id of the last issue
served, so the next page starts right after it whatever was inserted or changed before it,
where an offset would skip or repeat issues as others move. Each sort has a unique order
(the issue id breaks ties).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from domain.silences import Matcher, MatchOperator
from projections.lookup import as_utc
from projections.lookup_tables import database_time, sqlite_timestamp

SortKey = Literal["updated", "opened", "severity", "alert_count"]
SortOrder = Literal["desc", "asc"]

SORT_COLUMNS: dict[str, str] = {
    "updated": "updated_at",
    "opened": "opened_at",
    "severity": "severity_rank",
    "alert_count": "alert_count",
}
_TIME_SORTS = frozenset({"updated", "opened"})


class QueryRejected(ValueError):
    """A query parameter that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort it belongs to, the last issue's sort value and id."""

    sort: str
    order: str
    value: str | int
    issue_id: str

    def encode(self) -> str:
        text = json.dumps([self.sort, self.order, self.value, self.issue_id])
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            sort, order, value, issue_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise QueryRejected("cursor: not a cursor this API handed out") from None
        if (
            sort not in SORT_COLUMNS
            or order not in ("asc", "desc")
            or not isinstance(issue_id, str)
        ):
            raise QueryRejected("cursor: not a cursor this API handed out")
        if not isinstance(value, str if sort in _TIME_SORTS else int):
            raise QueryRejected("cursor: not a cursor this API handed out")
        return cls(sort, order, value, issue_id)


@dataclass(frozen=True)
class IssueQuery:
    channel_id: str | None = None
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    correlation_id: str | None = None
    slack_ts: str | None = None
    text: str | None = None  # `q`: every word must appear in the header or the text
    matchers: tuple[Matcher, ...] = ()
    since: datetime | None = None  # last change at or after
    until: datetime | None = None  # last change before
    sort: str = "updated"
    order: str = "desc"
    limit: int = 100
    offset: int = 0
    cursor: Cursor | None = field(default=None)

    def __post_init__(self) -> None:
        if self.cursor is not None and (self.cursor.sort, self.cursor.order) != (
            self.sort,
            self.order,
        ):
            raise QueryRejected(
                f"cursor: it continues a list sorted by {self.cursor.sort} "
                f"{self.cursor.order}, not by {self.sort} {self.order}"
            )
        if self.cursor is not None and self.offset:
            raise QueryRejected("offset: a cursor already says where the page starts")

    def next_cursor(self, last_id: str, last_value: Any) -> str:
        value = _time_text(last_value) if self.sort in _TIME_SORTS else int(last_value)
        return Cursor(self.sort, self.order, value, last_id).encode()


def parse_matcher(text: str) -> Matcher:
    """A label matcher in Alertmanager's syntax: `team="db"`, `severity=~"error|panic"`."""
    found = _MATCHER.fullmatch(text.strip())
    if found is None:
        raise QueryRejected(
            f'filter: {text!r} is not a label matcher (name="value", with =, !=, =~ or !~)'
        )
    name, operator, quoted, bare = found.groups()
    value = _unquote(quoted) if quoted is not None else bare.strip()
    try:
        return Matcher(name=name, value=value, operator=MatchOperator(operator))
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise QueryRejected(f"filter: {text!r}: {reason}") from None


def parse_matchers(values: Sequence[str]) -> tuple[Matcher, ...]:
    """Every `filter=` value; one may also hold several, as `{a="1", b=~"2"}`."""
    matchers: list[Matcher] = []
    for value in values:
        text = value.strip()
        if text.startswith("{") and text.endswith("}"):
            matchers.extend(parse_matcher(part) for part in _split_matchers(text[1:-1]))
        elif text:
            matchers.append(parse_matcher(text))
    return tuple(matchers)


_MATCHER = re.compile(r'([A-Za-z_][\w.-]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*))')


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], quoted)


def _split_matchers(text: str) -> list[str]:
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    parts.append(current)
    return [part for part in parts if part.strip()]


# -- SQL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What differs between the databases in the view's queries."""

    name: str

    @property
    def placeholder(self) -> str:
        return "?" if self.name == "sqlite" else "%s"

    def label(self, name: str) -> tuple[str, str]:
        """An expression reading one label (empty when absent), and its parameter."""
        if self.name == "postgresql":
            return f"COALESCE(CAST(labels AS jsonb) ->> {self.placeholder}, '')", name
        path = f'$."{name}"'
        if self.name == "sqlite":
            return "COALESCE(json_extract(labels, ?), '')", path
        return f"COALESCE(JSON_UNQUOTE(JSON_EXTRACT(labels, {self.placeholder})), '')", path

    def regex(self, expression: str) -> str:
        return (
            f"{expression} ~ {self.placeholder}"
            if self.name == "postgresql"
            else (f"{expression} REGEXP {self.placeholder}")
        )

    def time(self, value: datetime) -> Any:
        return database_time(value, self.name)


def where_clause(query: IssueQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The query's filters as `WHERE …` (empty when none) and its parameters, in order."""
    p = dialect.placeholder
    conditions: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("channel_id", query.channel_id),
        ("correlation_id", query.correlation_id),
        ("slack_ts", query.slack_ts),
    ):
        if value is not None:
            conditions.append(f"{column} = {p}")
            params.append(value)
    for column, values in (("status", query.statuses), ("severity", query.severities)):
        if values:
            conditions.append(f"{column} IN ({', '.join(p for _ in values)})")
            params.extend(values)
    for word in (query.text or "").casefold().split():
        conditions.append(f"search_text LIKE {p} ESCAPE '!'")
        params.append("%" + re.sub(r"([!%_])", r"!\1", word) + "%")
    if query.since is not None:
        conditions.append(f"updated_at >= {p}")
        params.append(dialect.time(query.since))
    if query.until is not None:
        conditions.append(f"updated_at < {p}")
        params.append(dialect.time(query.until))
    for matcher in query.matchers:
        condition, param = _matcher_condition(matcher, dialect)
        conditions.append(condition)
        params.extend(param)
    if query.cursor is not None:
        condition, param = _after_cursor(query.cursor, dialect)
        conditions.append(condition)
        params.extend(param)
    if not conditions:
        return "", []
    return "WHERE " + " AND ".join(conditions), params


def _matcher_condition(matcher: Matcher, dialect: Dialect) -> tuple[str, list[Any]]:
    expression, name = dialect.label(matcher.name.removeprefix("labels."))
    p = dialect.placeholder
    operator = matcher.operator
    if operator is MatchOperator.EQUAL:
        return f"{expression} = {p}", [name, matcher.value]
    if operator is MatchOperator.NOT_EQUAL:
        return f"{expression} <> {p}", [name, matcher.value]
    # Anchored, as Alertmanager's are.
    condition = dialect.regex(expression)
    pattern = f"^(?:{matcher.value})$"
    if operator is MatchOperator.NOT_REGEX:
        condition = f"NOT ({condition})"
    return condition, [name, pattern]


def _after_cursor(cursor: Cursor, dialect: Dialect) -> tuple[str, list[Any]]:
    column = SORT_COLUMNS[cursor.sort]
    p = dialect.placeholder
    beyond = "<" if cursor.order == "desc" else ">"
    value: Any = cursor.value
    if cursor.sort in _TIME_SORTS:
        value = dialect.time(datetime.fromisoformat(str(value)))
    return (
        f"({column} {beyond} {p} OR ({column} = {p} AND id {beyond} {p}))",
        [value, value, cursor.issue_id],
    )


def page_statement(query: IssueQuery, dialect: Dialect, table: str) -> tuple[str, list[Any]]:
    """`SELECT id, <sort column>, snapshot` of one page, one row more than the limit (to
    know whether another page follows)."""
    where, params = where_clause(query, dialect)
    column = SORT_COLUMNS[query.sort]
    direction = "DESC" if query.order == "desc" else "ASC"
    p = dialect.placeholder
    sql = (
        f"SELECT id, {column}, snapshot FROM {table} {where} "
        f"ORDER BY {column} {direction}, id {direction} LIMIT {p} OFFSET {p}"
    )
    return sql, [*params, query.limit + 1, query.offset]


def counts_statement(query: IssueQuery, dialect: Dialect, table: str) -> tuple[str, list[Any]]:
    """Issues per channel, severity, status and acknowledgement, for `GET /issues/counts`."""
    where, params = where_clause(query, dialect)
    groups = "channel_id, severity, status, acknowledged"
    return f"SELECT {groups}, COUNT(*) FROM {table} {where} GROUP BY {groups}", params


COUNTED = ("open", "acknowledged", "resolved", "archived")


def counts_document(rows: Sequence[tuple[str, str, str, int, int]]) -> dict[str, Any]:
    """The counts' JSON: totals by state, then by severity and by channel.

    An open issue counts as `acknowledged` while someone has acknowledged it, else as
    `open`; the states are disjoint, so each breakdown adds up to `total`.
    """
    by_state = dict.fromkeys(COUNTED, 0)
    by_severity: dict[str, dict[str, int]] = {}
    by_channel: dict[str, dict[str, int]] = {}
    for channel, severity, status, acknowledged, count in rows:
        state = "acknowledged" if status == "open" and acknowledged else status
        by_state[state] = by_state.get(state, 0) + count
        for breakdown, key in ((by_severity, severity), (by_channel, channel)):
            entry = breakdown.setdefault(key, dict.fromkeys(COUNTED, 0) | {"total": 0})
            entry[state] = entry.get(state, 0) + count
            entry["total"] += count
    return {
        "total": sum(by_state.values()),
        **by_state,
        "by_severity": dict(sorted(by_severity.items())),
        "by_channel": dict(sorted(by_channel.items())),
    }


def _time_text(value: Any) -> str:
    """A time column's value as a cursor keeps it: SQLite's own text, else ISO 8601 UTC."""
    if isinstance(value, str):
        return value
    return sqlite_timestamp(as_utc(value))
