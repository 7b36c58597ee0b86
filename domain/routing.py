"""Route keys to Slack channels, the way Slack Manager's routing rules do.

Alerts that name no channel carry a route key (and optionally a type); the operator's rules
decide the channel. Precedence is by how specific the match is: an exact key beats a prefix,
a prefix beats a regular expression, and any of them beats a catch-all. Within one level a rule
written for the alert's type beats a rule for every type, so a team can take, say, its security
alerts out of a shared key without touching the other rules. Rules written for another type
never match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from domain.errors import FieldProblem, InvalidRouteTable, UnknownRouteKey, problem

# Rules point at channel ids, never names: names can be renamed under a running config.
SLACK_CHANNEL_ID = re.compile(r"^[0-9a-zA-Z]{9,15}$")


def _lower_all(values: list[str]) -> list[str]:
    for index, value in enumerate(values):
        if not value:
            raise PydanticCustomError(
                "empty_value", "may not contain empty values", {"at": str(index)}
            )
    return [value.lower() for value in values]


class Route(BaseModel):
    """One routing rule (Slack Manager's `RoutingRule`; JSON keys as `GET /mappings` shows)."""

    model_config = ConfigDict(
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
    )

    name: str
    description: str = ""
    alert_type: str = ""
    equals: Annotated[list[str], AfterValidator(_lower_all)] = []
    has_prefix: Annotated[list[str], AfterValidator(_lower_all)] = []
    matches_regex: list[str] = []
    match_all: bool = False
    channel: str

    _patterns: tuple[re.Pattern[str], ...] = PrivateAttr(default=())

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not name:
            raise PydanticCustomError("missing", "is required and may not be empty")
        return name

    @field_validator("alert_type")
    @classmethod
    def _lower_type(cls, alert_type: str) -> str:
        return alert_type.lower()

    @field_validator("matches_regex")
    @classmethod
    def _check_patterns(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            if not pattern:
                raise PydanticCustomError(
                    "empty_value", "may not contain empty values", {"at": str(index)}
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PydanticCustomError(
                    "regex_invalid",
                    "is not a valid regular expression: {reason}",
                    {"at": str(index), "reason": str(exc)},
                ) from None
        return patterns

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, channel: str) -> str:
        if not SLACK_CHANNEL_ID.match(channel):
            raise PydanticCustomError(
                "channel_invalid",
                "'{channel}' is not a Slack channel id "
                "(9 to 15 letters or digits, e.g. C0123456789)",
                {"channel": channel},
            )
        return channel

    @model_validator(mode="after")
    def _check_matches_something(self) -> Route:
        if not (self.match_all or self.equals or self.has_prefix or self.matches_regex):
            raise PydanticCustomError(
                "matches_nothing",
                "the rule matches nothing: set equals, hasPrefix, matchesRegex or matchAll",
            )
        return self

    def model_post_init(self, context: object, /) -> None:
        self._patterns = tuple(re.compile(p, re.IGNORECASE) for p in self.matches_regex)

    def serves(self, alert_type: str) -> bool:
        """Whether this rule may take an alert of `alert_type` (untyped rules take any)."""
        return not self.alert_type or self.alert_type == alert_type

    def matches_equals(self, route_key: str) -> bool:
        return route_key in self.equals

    def matches_prefix(self, route_key: str) -> bool:
        return any(route_key.startswith(prefix) for prefix in self.has_prefix)

    def matches_regex_key(self, route_key: str) -> bool:
        return any(pattern.search(route_key) for pattern in self._patterns)


class RouteTable:
    """The operator's routing rules, in the order they were configured."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        seen: set[str] = set()
        duplicates: list[FieldProblem] = []
        for index, route in enumerate(self.routes):
            if route.name in seen:
                duplicates.append(
                    problem(
                        f"{index}.name",
                        f"'{route.name}' is used by an earlier rule; rule names must be unique",
                    )
                )
            seen.add(route.name)
        if duplicates:
            raise InvalidRouteTable(duplicates)

    def __repr__(self) -> str:
        return f"RouteTable({list(self.routes)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RouteTable) and other.routes == self.routes

    def __hash__(self) -> int:
        return hash(tuple(route.name for route in self.routes))

    @classmethod
    def from_json_obj(cls, obj: object) -> RouteTable:
        """Read rules from decoded JSON/YAML: a list of rules, or `{"routingRules": [...]}`
        as in Slack Manager's API settings."""
        if isinstance(obj, dict):
            obj = obj.get("routingRules", obj.get("routes"))
        if obj is None:
            return cls()
        if not isinstance(obj, list):
            raise InvalidRouteTable([problem("", "routing rules must be a list of rule objects")])
        routes: list[Route] = []
        problems: list[FieldProblem] = []
        for index, item in enumerate(obj):
            try:
                routes.append(Route.model_validate(item))
            except ValidationError as exc:
                problems.extend(_problems(exc, prefix=str(index)))
        if problems:
            raise InvalidRouteTable(problems)
        return cls(routes)

    def describe(self) -> list[dict[str, Any]]:
        """The rules as Slack Manager's `GET /mappings` shows them."""
        return [route.model_dump(mode="json", by_alias=True) for route in self.routes]

    def match(self, route_key: str, alert_type: str = "") -> Route | None:
        """The rule that takes this route key and alert type, or None."""
        key = route_key.strip().lower()
        kind = alert_type.strip().lower()
        levels: list[Callable[[Route], bool]] = [
            lambda r: r.matches_equals(key),
            lambda r: r.matches_prefix(key),
            lambda r: r.matches_regex_key(key),
        ]
        if key:
            for matches in levels:
                found = _best(r for r in self.routes if matches(r) and r.serves(kind))
                if found is not None:
                    return found
        return _best(r for r in self.routes if r.match_all and r.serves(kind))

    def resolve(self, route_key: str, alert_type: str = "") -> str:
        """The channel id for this route key and alert type; raises UnknownRouteKey."""
        route = self.match(route_key, alert_type)
        if route is None:
            raise UnknownRouteKey(route_key.strip().lower(), alert_type.strip().lower())
        return route.channel


def _best(candidates: Iterable[Route]) -> Route | None:
    """The first rule written for the alert's type, else the first untyped one."""
    untyped: Route | None = None
    for route in candidates:
        if route.alert_type:
            return route
        if untyped is None:
            untyped = route
    return untyped


def _problems(error: ValidationError, prefix: str) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for item in error.errors(include_url=False):
        parts = [prefix, *(to_camel(p) if isinstance(p, str) else str(p) for p in item["loc"])]
        at = (item.get("ctx") or {}).get("at")
        if at:
            parts.append(str(at))
        problems.append(problem(".".join(parts), item["msg"]))
    return problems
