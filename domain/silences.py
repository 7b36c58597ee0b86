"""Silences: Alertmanager-style rules that keep an issue quiet for a while.

A silence does not stop alerts from folding (the history stays complete); it marks the issue
it matches as silenced until the silence ends, and notifiers stay quiet for silenced issues.
Matchers name a label, as in Alertmanager (from Alertmanager alerts' labels kept in the
alert's metadata), or an alert field (Slack Manager's camelCase JSON name, such as
`correlationId`, `slackChannelId`, `severity`, `header`): a name the alert has as a label
reads the label, any other name the field, and `labels.<name>` only the label. An absent
field or label reads as the empty string, as in Alertmanager.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.errors import DomainError

MAX_MATCHERS = 20
MAX_SILENCE_DAYS = 366
# What people are offered to silence one issue (Slack's Silence… menu) unless configured
# otherwise, and the bounds of a configured list: Slack's menus take at most 100 options.
DEFAULT_SILENCE_DURATIONS = tuple(timedelta(hours=h) for h in (0.5, 1, 4, 24))
MIN_SILENCE_CHOICE = timedelta(minutes=1)
MAX_SILENCE_CHOICE = timedelta(days=90)
MAX_SILENCE_CHOICES = 100


class SilenceRejected(DomainError):
    """The silence cannot be set (its end before its start, an unusable regular expression)."""


class MatchOperator(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


class Matcher(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^(labels\.)?[A-Za-z_][\w.-]*$")
    value: Annotated[str, Field(max_length=1000)]
    operator: MatchOperator = MatchOperator.EQUAL

    @model_validator(mode="after")
    def _regex_compiles(self) -> Self:
        if self.operator in (MatchOperator.REGEX, MatchOperator.NOT_REGEX):
            try:
                re.compile(self.value)
            except re.error as error:
                raise ValueError(f"{self.value!r} is not a regular expression: {error}") from None
        return self

    def matches(self, alert: dict[str, Any]) -> bool:
        """Whether the alert (Slack Manager alert JSON, camelCase) satisfies this matcher."""
        actual = _read(alert, self.name)
        if self.operator is MatchOperator.EQUAL:
            return actual == self.value
        if self.operator is MatchOperator.NOT_EQUAL:
            return actual != self.value
        anchored = re.fullmatch(self.value, actual) is not None  # Alertmanager anchors regexes
        return anchored if self.operator is MatchOperator.REGEX else not anchored


class Silence(BaseModel):
    """One silence; every matcher must match. `ends_at` is exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    matchers: tuple[Matcher, ...] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=3000)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if (self.ends_at - self.starts_at).days > MAX_SILENCE_DAYS:
            raise ValueError(f"a silence lasts at most {MAX_SILENCE_DAYS} days")
        return self

    def active_at(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def matches(self, alert: dict[str, Any]) -> bool:
        return all(matcher.matches(alert) for matcher in self.matchers)


def silence_for(silences: list[Silence], alert: dict[str, Any], at: datetime) -> Silence | None:
    """The silence that covers the alert at `at`, the one ending last when several do."""
    covering = [s for s in silences if s.active_at(at) and s.matches(alert)]
    return max(covering, key=lambda s: (s.ends_at, s.id), default=None)


def silence_for_all(
    silences: list[Silence], alerts: list[dict[str, Any]], at: datetime
) -> Silence | None:
    """The silence that keeps every one of the alerts quiet the shortest, or None when one of
    them is not covered: an issue is quiet only while all its firing alerts are."""
    if not silences:
        return None
    covering = [silence_for(silences, alert, at) for alert in alerts]
    if not covering or None in covering:
        return None
    return min((s for s in covering if s is not None), key=lambda s: (s.ends_at, s.id))


def next_silence_start(
    silences: list[Silence], alerts: list[dict[str, Any]], at: datetime
) -> datetime | None:
    """When the first silence set for later that matches one of the alerts starts, if any."""
    return min(
        (
            s.starts_at
            for s in silences
            if s.starts_at > at and any(s.matches(alert) for alert in alerts)
        ),
        default=None,
    )


def _read(alert: dict[str, Any], name: str) -> str:
    labels = (alert.get("metadata") or {}).get("labels")
    labels = labels if isinstance(labels, dict) else {}
    if name.startswith("labels."):
        value = labels.get(name.removeprefix("labels."), "")
    elif name in labels:
        value = labels[name]
    else:
        value = alert.get(name, "")
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)
