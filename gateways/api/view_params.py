"""The issue views' query parameters: read by hand, documented from the same table.

FastAPI's per-parameter validation cost the views more than their query and answer
together, so `GET /issues`, `/issues/counts` and `/issues/{id}` read their parameters here;
`openapi_parameters` declares the same ones in the OpenAPI document. A bad value is a 400
naming the parameter, like every other refusal of the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from starlette.datastructures import QueryParams

from domain.issue_state import IssueSnapshot
from gateways.api.errors import ApiError
from gateways.api.read_marks import ReadMarks, parse_after
from projections.audit_history import parse_time
from projections.lookup_queries import (
    SORT_COLUMNS,
    Cursor,
    IssueQuery,
    QueryRejected,
    parse_matchers,
)

STATUSES = ("open", "resolved", "archived")
SEVERITIES = ("panic", "error", "warning", "resolved", "info")
MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1  # both databases take 64-bit offsets; a larger one was a 500


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str = ""
    repeated: bool = False

    def openapi(self) -> dict[str, Any]:
        schema = {"type": "array", "items": self.schema} if self.repeated else self.schema
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "schema": schema,
            **({"description": self.description} if self.description else {}),
            **({"style": "form", "explode": True} if self.repeated else {}),
        }


_TEXT: dict[str, Any] = {"type": "string"}
FILTERS = (
    Param("channel_id", _TEXT),
    Param("status", {"enum": list(STATUSES), "type": "string"}, "One or several.", True),
    Param("severity", {"enum": list(SEVERITIES), "type": "string"}, "One or several.", True),
    Param("correlation_id", _TEXT),
    Param("slack_ts", _TEXT, "The ts of the issue's Slack message."),
    Param(
        "q",
        {"type": "string", "maxLength": 1000},
        "Words that must all appear in the header or the text (case-insensitive, any part "
        "of a word).",
    ),
    Param(
        "filter",
        _TEXT,
        'Label matchers in Alertmanager\'s syntax (`team="db"`, `severity=~"error|panic"`, '
        'or several in one: `{team="db",env!="test"}`), all of which must match. They read '
        "the labels of the issue's latest alert, else its field of that name (`host`, "
        "`routeKey`, `severity`…); an absent one reads as empty; regular expressions are "
        "anchored.",
        True,
    ),
    Param("since", _TEXT, "Last change at or after this time (ISO 8601; UTC without a zone)."),
    Param("until", _TEXT, "Last change before this time (ISO 8601; UTC without a zone)."),
)
PAGING = (
    Param("sort", {"enum": list(SORT_COLUMNS), "type": "string", "default": "updated"}),
    Param("order", {"enum": ["desc", "asc"], "type": "string", "default": "desc"}),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}),
    Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
    Param(
        "cursor",
        _TEXT,
        "The `next_cursor` of the previous page: the page after it, correct however issues "
        "changed meanwhile (keep the filters and the sort).",
    ),
)
READ_AFTER = (
    Param(
        "after",
        {"type": "string", "pattern": r"^\d+:\d+(,\d+:\d+)*$"},
        "Read your own writes: the `after` of a 202 from `POST /alert` (`partition:offset` "
        "pairs, comma-separated). The answer waits until the view has folded past each of "
        "those alerts, at most `wait_ms`, else 504.",
    ),
    Param(
        "wait_ms",
        {
            "type": "integer",
            "minimum": 0,
            "maximum": ReadMarks.MAX_WAIT_MS,
            "default": ReadMarks.DEFAULT_WAIT_MS,
        },
        "How long `after` may wait, in milliseconds.",
    ),
)


def openapi_parameters(*groups: Sequence[Param]) -> dict[str, Any]:
    """`openapi_extra` declaring these parameters."""
    return {"parameters": [param.openapi() for group in groups for param in group]}


def issue_filters(params: QueryParams) -> dict[str, Any]:
    """`IssueQuery`'s filter fields from the request's parameters."""
    channel = _text(params, "channel_id")
    try:
        return {
            "channel_id": channel.upper() if channel else None,
            "statuses": _choices(params, "status", STATUSES),
            "severities": _choices(params, "severity", SEVERITIES),
            "correlation_id": _text(params, "correlation_id"),
            "slack_ts": _text(params, "slack_ts"),
            "text": _q(params),
            "matchers": parse_matchers(params.getlist("filter")),
            "since": _time(params, "since"),
            "until": _time(params, "until"),
        }
    except QueryRejected as error:
        raise ApiError(400, str(error)) from None


def issue_page_query(params: QueryParams) -> IssueQuery:
    filters = issue_filters(params)
    cursor = _text(params, "cursor")
    try:
        return IssueQuery(
            **filters,
            sort=_choice(params, "sort", tuple(SORT_COLUMNS), "updated"),
            order=_choice(params, "order", ("desc", "asc"), "desc"),
            limit=integer(params, "limit", 100, 1, MAX_LIMIT),
            offset=integer(params, "offset", 0, 0, MAX_OFFSET),
            cursor=None if cursor is None else Cursor.decode(cursor),
        )
    except QueryRejected as error:
        raise ApiError(400, str(error)) from None


def read_after(params: QueryParams) -> tuple[dict[int, int], int]:
    """The `after` marks and how long to wait for them."""
    wait_ms = integer(params, "wait_ms", ReadMarks.DEFAULT_WAIT_MS, 0, ReadMarks.MAX_WAIT_MS)
    return parse_after(params.get("after")), wait_ms


def integer(params: QueryParams, name: str, default: int, lowest: int, highest: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name}: {text!r} is not a whole number") from None
    if not lowest <= value <= highest:
        raise ApiError(400, f"{name}: must be between {lowest} and {highest}")
    return value


def _text(params: QueryParams, name: str) -> str | None:
    return params.get(name)


def _q(params: QueryParams) -> str | None:
    text = params.get("q")
    if text is not None and len(text) > 1000:
        raise ApiError(400, "q: at most 1000 characters")
    return text


def _choice(params: QueryParams, name: str, options: tuple[str, ...], default: str) -> str:
    value = params.get(name, default)
    if value not in options:
        raise ApiError(400, f"{name}: {value!r} is not one of {', '.join(options)}")
    return value


def _choices(params: QueryParams, name: str, options: tuple[str, ...]) -> tuple[str, ...]:
    values = params.getlist(name)
    for value in values:
        if value not in options:
            raise ApiError(400, f"{name}: {value!r} is not one of {', '.join(options)}")
    return tuple(dict.fromkeys(values))


def _time(params: QueryParams, name: str) -> datetime | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        raise QueryRejected(f"{name}: {error}") from None


# -- response shapes, for the OpenAPI document ----------------------------------------------


class IssueView(IssueSnapshot):
    """An issue as the views serve it: its snapshot, then the event that left it so."""

    version: int
    last_event_type: str
    last_event_id: str


class IssuePage(BaseModel):
    issues: list[IssueView]
    count: int
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class StateCounts(BaseModel):
    open: int = Field(description="Open and not acknowledged.")
    acknowledged: int = Field(description="Open and acknowledged.")
    resolved: int
    archived: int
    total: int


class IssueCounts(BaseModel):
    total: int
    open: int = Field(description="Open and not acknowledged.")
    acknowledged: int = Field(description="Open and acknowledged.")
    resolved: int
    archived: int
    by_severity: dict[str, StateCounts]
    by_channel: dict[str, StateCounts]
