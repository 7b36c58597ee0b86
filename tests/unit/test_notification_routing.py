"""Routing of issue events to notification channels, on lists of events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.records import IssueEventRecord
from domain.severity import Severity
from harness.stories import IssueStory, issue_event
from projections.notification_routing import (
    ChannelRoute,
    RoutingRule,
    notification_kind,
    route,
)

HOOK = ChannelRoute("hook", "webhook", RoutingRule())
PAGER = ChannelRoute("pager", "pagerduty", RoutingRule())


def with_issue(event: IssueEventRecord, **changes: Any) -> IssueEventRecord:
    return event.model_copy(update={"issue": event.issue.model_copy(update=changes)})


def kinds(events: list[IssueEventRecord]) -> list[str | None]:
    return [notification_kind(event) for event in events]


def test_an_issue_story_notifies_its_opening_reopening_and_resolution_only() -> None:
    story = IssueStory()
    story.opened()
    story.grouped()
    story.severity_changed(Severity.PANIC)
    story.resolved()
    story.reopened()
    assert kinds(story.events) == ["opened", None, None, "resolved", "opened"]


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("IssueEscalated", "escalated"),
        ("IssueAcknowledged", "acknowledged"),
        ("IssueUnacknowledged", "unacknowledged"),
        ("IssueResolvedByHand", "resolved"),
        ("IssueTerminated", "resolved"),
        ("NotificationDelayElapsed", "opened"),
        ("IssueReminded", "reminded"),
        ("IssueMoved", None),
        ("IssueSilenced", None),
        ("SomethingInvented", None),
    ],
)
def test_each_event_type_means_its_kind_and_unknown_types_mean_nothing(
    event_type: str, kind: str | None
) -> None:
    assert notification_kind(issue_event(version=2, type=event_type)) == kind


def test_reminders_go_to_the_channels_that_route_them() -> None:
    reminded = issue_event(version=3, type="IssueReminded")
    routes = [
        ChannelRoute("all", "webhook", RoutingRule()),
        ChannelRoute("reminders", "ntfy", RoutingRule(kinds=("reminded",))),
        ChannelRoute("openings", "email", RoutingRule(kinds=("opened", "resolved"))),
    ]
    routed = route(reminded, routes)
    assert routed is not None
    assert (routed.kind, routed.channel_ids) == ("reminded", ("all", "reminders"))


def test_an_issue_held_by_its_notification_delay_notifies_once_the_delay_elapses() -> None:
    held = with_issue(issue_event(type="IssueOpened"), presentable=False)
    shown = issue_event(version=2, type="NotificationDelayElapsed")
    assert kinds([held, shown]) == [None, "opened"]


def test_an_issue_resolved_before_it_was_ever_shown_sends_no_resolution() -> None:
    resolved = with_issue(
        issue_event(version=2, type="IssueResolved", status="resolved"), presentable=False
    )
    assert route(resolved, [HOOK, PAGER]) is None


def test_rules_select_by_slack_channel_severity_and_kind() -> None:
    routes = [
        ChannelRoute("ops", "webhook", RoutingRule(slack_channels=("C-ops",))),
        ChannelRoute("urgent", "ntfy", RoutingRule(min_severity=Severity.ERROR)),
        ChannelRoute("warnings", "email", RoutingRule(severities=(Severity.WARNING,))),
        ChannelRoute("acks", "webhook", RoutingRule(kinds=("acknowledged",))),
        ChannelRoute("off", "webhook", RoutingRule(), enabled=False),
    ]
    warning = issue_event(channel_id="C-ops", severity=Severity.WARNING)
    panic = issue_event(channel_id="C-dev", severity=Severity.PANIC)
    ack = issue_event(channel_id="C-dev", version=2, type="IssueAcknowledged")
    assert route(warning, routes) is not None
    assert route(warning, routes).channel_ids == ("ops", "warnings")  # type: ignore[union-attr]
    assert route(panic, routes).channel_ids == ("urgent",)  # type: ignore[union-attr]
    assert route(ack, routes).channel_ids == ("urgent", "acks")  # type: ignore[union-attr]


def test_a_resolution_reaches_a_channel_whatever_its_severity_selector() -> None:
    story = IssueStory(severity=Severity.PANIC)
    story.opened()
    resolved = story.resolved()
    urgent = ChannelRoute("urgent", "ntfy", RoutingRule(min_severity=Severity.PANIC))
    routed = route(resolved, [urgent])
    assert routed is not None and routed.kind == "resolved"


def test_a_silenced_issue_only_resolves_its_pagerduty_incident() -> None:
    story = IssueStory()
    opened, resolved = story.opened(), story.resolved()
    until = opened.occurred_at + timedelta(hours=1)
    silenced_open = with_issue(opened, silenced_until=until)
    silenced_resolution = with_issue(resolved, silenced_until=until)
    assert route(silenced_open, [HOOK, PAGER]) is None
    routed = route(silenced_resolution, [HOOK, PAGER])
    assert routed is not None and routed.channel_ids == ("pager",)


def test_a_silence_that_ended_before_the_event_mutes_nothing() -> None:
    opened = issue_event()
    expired = with_issue(opened, silenced_until=opened.occurred_at - timedelta(seconds=1))
    assert route(expired, [HOOK, PAGER]).channel_ids == ("hook", "pager")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "event_type", ["IssueAcknowledged", "IssueUnacknowledged", "IssueResolvedByHand"]
)
def test_acts_that_came_from_pagerduty_are_not_echoed_back_to_it(event_type: str) -> None:
    actor = {"kind": "pagerduty", "id": "P123", "name": "PagerDuty"}
    event = issue_event(version=2, type=event_type, data={"actor": actor})
    assert route(event, [HOOK, PAGER]).channel_ids == ("hook",)  # type: ignore[union-attr]
    from_slack = issue_event(version=2, type=event_type, data={"actor": {"kind": "slack"}})
    assert route(from_slack, [HOOK, PAGER]).channel_ids == ("hook", "pager")  # type: ignore[union-attr]


def test_a_rule_cannot_give_both_a_minimum_severity_and_a_set() -> None:
    with pytest.raises(ValueError, match="not both"):
        RoutingRule(min_severity=Severity.ERROR, severities=(Severity.PANIC,))
