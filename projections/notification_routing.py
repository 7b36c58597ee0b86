"""Which notification an issue event means, and which configured channels it goes to.

A pure function of one `IssueEventRecord` and the channels' routes, so the whole routing
policy is tested on lists of events, and the dispatcher only carries out its answer.

The list of event types is open (moves, silences and whatever comes next): a type this
module does not name means "no notification", never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.records import IssueEventRecord
from domain.severity import Severity

# The values of `gateways.notify.sending.NotificationKind` an issue event can mean (the
# gateway adds `test`); kept as plain strings here so projections import no gateway.
RoutedKind = Literal[
    "opened", "escalated", "acknowledged", "unacknowledged", "resolved", "reminded"
]
ROUTED_KINDS: tuple[RoutedKind, ...] = (
    "opened",
    "escalated",
    "acknowledged",
    "unacknowledged",
    "resolved",
    "reminded",
)

_KIND_OF_TYPE: dict[str, RoutedKind] = {
    "IssueOpened": "opened",
    "NotificationDelayElapsed": "opened",
    "IssueReopened": "opened",
    "IssueEscalated": "escalated",
    "IssueAcknowledged": "acknowledged",
    "IssueUnacknowledged": "unacknowledged",
    "IssueResolved": "resolved",
    "IssueResolvedByHand": "resolved",
    "IssueTerminated": "resolved",
    "IssueReminded": "reminded",
}
# Acts that PagerDuty itself may have caused (ack sync): never sent back to it.
_ECHOABLE_TYPES = frozenset({"IssueAcknowledged", "IssueUnacknowledged", "IssueResolvedByHand"})
PAGERDUTY = "pagerduty"


class RoutingRule(BaseModel):
    """What a channel wants to hear about; every empty selector means "everything".

    Severity is selected either by a minimum (`min_severity`) or by a set (`severities`),
    not both. It is not applied to `resolved`: a resolved issue's severity is `resolved`,
    which says nothing about how bad it was, and the opening it answers was already sent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    slack_channels: tuple[str, ...] = Field(
        default=(), description="Slack channel ids whose issues are sent; empty: all channels."
    )
    min_severity: Severity | None = Field(
        default=None,
        description="Only issues at least this severe (panic > error > warning).",
    )
    severities: tuple[Severity, ...] = Field(
        default=(), description="Only issues of these severities; empty: any (see min_severity)."
    )
    kinds: tuple[RoutedKind, ...] = Field(
        default=(), description="Only these notification kinds; empty: all of them."
    )

    @model_validator(mode="after")
    def _one_severity_selector(self) -> RoutingRule:
        if self.min_severity is not None and self.severities:
            raise ValueError("give min_severity or severities, not both")
        return self

    def selects(self, event: IssueEventRecord, kind: RoutedKind) -> bool:
        if self.slack_channels and event.channel_id not in self.slack_channels:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        if kind == "resolved":
            return True
        severity = event.issue.severity
        if self.min_severity is not None and severity.priority < self.min_severity.priority:
            return False
        return not self.severities or severity in self.severities


@dataclass(frozen=True)
class ChannelRoute:
    """A configured notification channel, as routing sees it."""

    channel_id: str
    target_kind: str  # "webhook", "ntfy", "email", "pagerduty", …
    rule: RoutingRule
    enabled: bool = True


@dataclass(frozen=True)
class Routed:
    """The notification an event means and the channels (ids, in configured order) it fires."""

    kind: RoutedKind
    channel_ids: tuple[str, ...]


def notification_kind(event: IssueEventRecord) -> RoutedKind | None:
    """The kind of notification an event means, or None (most events mean none).

    Nothing is said about an issue people were never shown: one still waiting out its
    notification delay, or resolved before the delay passed.
    """
    kind = _KIND_OF_TYPE.get(event.type)
    if kind is None or not event.issue.presentable:
        return None
    return kind


def route(event: IssueEventRecord, channels: Iterable[ChannelRoute]) -> Routed | None:
    """The notification `event` sends and to which channels; None when it sends nothing."""
    kind = notification_kind(event)
    if kind is None:
        return None
    silenced = _silenced(event)
    echoed = _from_pagerduty(event)
    chosen = tuple(
        channel.channel_id
        for channel in channels
        if channel.enabled
        and channel.rule.selects(event, kind)
        and _allowed(channel, kind, silenced=silenced, echoed=echoed)
    )
    return Routed(kind, chosen) if chosen else None


def _allowed(channel: ChannelRoute, kind: RoutedKind, *, silenced: bool, echoed: bool) -> bool:
    pagerduty = channel.target_kind == PAGERDUTY
    if silenced:
        # A silence mutes everything, but an incident opened before it must not dangle.
        return pagerduty and kind == "resolved"
    return not (pagerduty and echoed)


def _silenced(event: IssueEventRecord) -> bool:
    until = event.issue.silenced_until
    return until is not None and until > event.occurred_at


def _from_pagerduty(event: IssueEventRecord) -> bool:
    if event.type not in _ECHOABLE_TYPES:
        return False
    actor = event.data.get("actor")
    return isinstance(actor, dict) and actor.get("kind") == PAGERDUTY
