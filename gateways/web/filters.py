"""The issue list's filter strip as URL query parameters, so a filtered view can be shared.

`channel`, `status` (`open` by default, `any` for all), `severity`, `q` (free text) and
`labels`: label matchers in Alertmanager's notation, `team="storage", env=~"prod.*"`
(`=`, `!=`, `=~`, `!~`; quotes optional; `team` means the label `labels.team`), matched
against each issue's latest alert as a silence's matchers are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from domain.silences import Matcher, MatchOperator
from gateways.web.issue_source import SEVERITIES, STATUSES, IssueFilter

_MATCHER = re.compile(
    r"\s*(?P<name>[A-Za-z_][\w.-]*)\s*(?P<op>=~|!~|!=|=)\s*"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^,]*?))\s*(?:,|$)'
)
PARAMETERS = ("channel", "status", "severity", "q", "labels")


@dataclass(frozen=True)
class ListQuery:
    """The filter read from the URL, the URL's own parameters, and what was wrong in them."""

    wanted: IssueFilter
    params: dict[str, str]
    problem: str = ""


def list_query(query: Mapping[str, str]) -> ListQuery:
    params = {name: query.get(name, "").strip() for name in PARAMETERS}
    problems: list[str] = []
    status = params["status"] or "open"
    if status not in (*STATUSES, "any"):
        problems.append(f"status {status!r} is none of {', '.join(STATUSES)}, any")
        status = "open"
    severity = params["severity"]
    if severity and severity not in SEVERITIES:
        problems.append(f"severity {severity!r} is none of {', '.join(SEVERITIES)}")
        severity = ""
    try:
        labels = parse_label_matchers(params["labels"])
    except ValueError as error:
        problems.append(str(error))
        labels = ()
    wanted = IssueFilter(
        channel_id=params["channel"].upper(),
        status="" if status == "any" else status,
        severity=severity,
        text=params["q"],
        labels=labels,
    )
    return ListQuery(wanted, {k: v for k, v in params.items() if v}, "; ".join(problems))


def parse_label_matchers(text: str) -> tuple[Matcher, ...]:
    """`team="storage", env=~"prod.*"` → matchers on `labels.team`, `labels.env`."""
    matchers: list[Matcher] = []
    position = 0
    text = text.strip()
    while position < len(text):
        found = _MATCHER.match(text, position)
        if found is None or found.end() == position:
            raise ValueError(f'labels: cannot read {text[position:]!r}; write name="value", …')
        value = found["quoted"] if found["quoted"] is not None else found["bare"]
        name = found["name"]
        try:
            matchers.append(
                Matcher(
                    name=name if name.startswith("labels.") else f"labels.{name}",
                    value=re.sub(r"\\(.)", r"\1", value),
                    operator=MatchOperator(found["op"]),
                )
            )
        except ValidationError as error:
            detail = error.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"labels: {name}: {detail}") from None
        position = found.end()
    return tuple(matchers)
