"""Admission: which alerts of a request are taken, routed and stamped, or why none are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.alert import Alert
from domain.errors import AlertRejected
from domain.intake import Admission, admit_alertmanager, admit_alerts
from domain.routing import RouteTable

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PAYMENTS = "C000000001"
SECURITY = "C000000002"
FALLBACK = "C000000003"

ROUTES = RouteTable.from_json_obj(
    [
        {"name": "payments", "equals": ["payments"], "channel": PAYMENTS},
        {
            "name": "payments-security",
            "equals": ["payments"],
            "alertType": "security",
            "channel": SECURITY,
        },
        {"name": "lower-case", "equals": ["lower"], "channel": "c00000000a"},
    ]
)
NO_ROUTES = RouteTable()


def alert(**fields: Any) -> dict[str, Any]:
    return {"header": "Disk full", "slackChannelId": "C123", **fields}


def admit(body: Any, path_channel: str | None = None, routes: RouteTable = ROUTES) -> Admission:
    return admit_alerts(body, routes=routes, now=NOW, path_channel=path_channel)


def rejection(body: Any, path_channel: str | None = None) -> AlertRejected:
    with pytest.raises(AlertRejected) as caught:
        admit(body, path_channel)
    return caught.value


def headers(admission: Admission) -> list[str]:
    return [a.header for a in admission.accepted]


# -- body shapes ------------------------------------------------------------------------------


def test_a_single_alert_object_is_admitted() -> None:
    admission = admit(alert())
    assert headers(admission) == ["Disk full"]
    assert admission.ignored == 0


def test_a_json_array_is_admitted_in_order() -> None:
    admission = admit([alert(header="A"), alert(header="B"), alert(header="C")])
    assert headers(admission) == ["A", "B", "C"]


def test_an_alerts_envelope_is_admitted_in_order() -> None:
    admission = admit({"alerts": [alert(header="A"), alert(header="B")]})
    assert headers(admission) == ["A", "B"]


@pytest.mark.parametrize("body", [[], {"alerts": []}])
def test_an_empty_list_admits_nothing_and_ignores_nothing(body: Any) -> None:
    assert admit(body) == Admission(accepted=[], ignored=0)


@pytest.mark.parametrize(
    ("body", "described"),
    [("Disk full", "a string"), (42, "a number"), (True, "a boolean"), (None, "null")],
)
def test_a_body_that_is_neither_an_object_nor_an_array_is_rejected(
    body: Any, described: str
) -> None:
    error = rejection(body)
    assert "body must be an alert object, a JSON array of alerts" in str(error)
    assert error.problems == [{"field": "", "message": f"got {described}"}]


def test_an_alerts_key_that_is_not_an_array_is_rejected_at_that_key() -> None:
    error = rejection({"alerts": {"header": "Disk full"}})
    assert error.problems == [{"field": "alerts", "message": "must be a JSON array, got an object"}]


def test_a_null_alerts_key_is_read_as_not_sent() -> None:
    admission = admit({"alerts": None, **alert()})
    assert headers(admission) == ["Disk full"]


def test_problems_of_a_single_object_body_carry_no_index() -> None:
    error = rejection({"alerts": None, "severity": "loud"})
    assert [p["field"] for p in error.problems] == ["severity"]


# -- validation: all or nothing ---------------------------------------------------------------


def test_one_invalid_alert_rejects_the_whole_request() -> None:
    error = rejection([alert(header="A"), alert(header="", text=""), alert(header="C")])
    assert error.problems == [
        {"field": "alerts.1.header", "message": "header and text cannot both be empty"}
    ]


def test_every_problem_of_every_alert_is_listed_with_its_field_path() -> None:
    error = rejection(
        {
            "alerts": [
                alert(),
                alert(header="", text=""),
                alert(severity="loud", link="not a url"),
            ]
        }
    )
    assert [p["field"] for p in error.problems] == [
        "alerts.1.header",
        "alerts.2.link",
        "alerts.2.severity",
    ]


def test_an_array_item_that_is_not_an_object_is_rejected_at_its_index() -> None:
    error = rejection([alert(), "Disk full"])
    assert error.problems == [
        {"field": "alerts.1", "message": "an alert must be a JSON object, got a string"}
    ]


def test_the_rejection_names_the_first_problem_and_counts_the_rest() -> None:
    error = rejection([alert(header="", text=""), alert(severity="loud"), alert(link="nope")])
    assert str(error).startswith("alerts.0.header: header and text cannot both be empty")
    assert str(error).endswith("(and 2 more)")


# -- channels ---------------------------------------------------------------------------------


def test_the_alerts_own_channel_wins_over_the_path_channel() -> None:
    admission = admit(alert(slackChannelId="C123"), path_channel="C999")
    assert admission.accepted[0].slack_channel_id == "C123"


def test_the_path_channel_applies_when_the_alert_names_none() -> None:
    admission = admit(alert(slackChannelId=""), path_channel="C999")
    assert admission.accepted[0].slack_channel_id == "C999"


def test_the_path_channel_wins_over_the_route_key() -> None:
    admission = admit(alert(slackChannelId="", routeKey="payments"), path_channel="C999")
    assert admission.accepted[0].slack_channel_id == "C999"


def test_the_route_key_is_resolved_through_the_route_table() -> None:
    admission = admit(alert(slackChannelId="", routeKey="Payments"))
    assert admission.accepted[0].slack_channel_id == PAYMENTS


def test_route_key_resolution_prefers_a_rule_for_the_alerts_type() -> None:
    admission = admit(alert(slackChannelId="", routeKey="payments", type="Security"))
    assert admission.accepted[0].slack_channel_id == SECURITY


def test_an_unknown_route_key_rejects_the_request_naming_the_key() -> None:
    error = rejection([alert(), alert(slackChannelId="", routeKey="billing")])
    assert error.problems == [
        {
            "field": "alerts.1.slackChannelId",
            "message": "no routing rule matches route key 'billing'",
        }
    ]


def test_an_unknown_route_key_in_a_single_object_body_is_located_at_the_channel() -> None:
    error = rejection(alert(slackChannelId="", routeKey="billing"))
    assert [p["field"] for p in error.problems] == ["slackChannelId"]


def test_every_alert_without_a_channel_is_listed() -> None:
    error = rejection(
        [
            alert(slackChannelId="", routeKey="billing"),
            alert(),
            alert(slackChannelId=""),
        ]
    )
    assert [p["field"] for p in error.problems] == [
        "alerts.0.slackChannelId",
        "alerts.2.slackChannelId",
    ]
    assert "no slackChannelId and no routeKey" in error.problems[1]["message"]


def test_an_invalid_path_channel_is_rejected_when_it_is_needed() -> None:
    error = rejection(alert(slackChannelId=""), path_channel="not a channel!")
    assert error.problems[0]["field"] == "slackChannelId"
    assert "'not a channel!' is not a channel id or name" in error.problems[0]["message"]


@pytest.mark.parametrize(
    ("fields", "path_channel", "expected"),
    [
        ({"slackChannelId": "c123"}, None, "C123"),
        ({"slackChannelId": ""}, "c999", "C999"),
        ({"slackChannelId": "", "routeKey": "lower"}, None, "C00000000A"),
    ],
)
def test_accepted_alerts_carry_the_channel_upper_cased(
    fields: dict[str, Any], path_channel: str | None, expected: str
) -> None:
    admission = admit(alert(**fields), path_channel=path_channel)
    assert admission.accepted[0].slack_channel_id == expected


def test_accepted_alerts_get_the_default_correlation_id_of_their_channel() -> None:
    routed = admit(alert(slackChannelId=""), path_channel="C999").accepted[0]
    direct = admit(alert(slackChannelId="C999")).accepted[0]
    assert routed.correlation_id
    assert routed.correlation_id == direct.correlation_id


# -- ignoring ---------------------------------------------------------------------------------


def test_an_alert_whose_text_contains_an_ignore_term_is_counted_not_accepted() -> None:
    admission = admit(alert(text="nightly backup FAILED", ignoreIfTextContains=["failed"]))
    assert admission == Admission(accepted=[], ignored=1)


def test_ignored_and_accepted_alerts_are_counted_apart() -> None:
    admission = admit(
        [
            alert(header="A", text="known flake", ignoreIfTextContains=["flake"]),
            alert(header="B", text="real trouble", ignoreIfTextContains=["flake"]),
            alert(header="C", text="another flake", ignoreIfTextContains=["flake"]),
        ]
    )
    assert headers(admission) == ["B"]
    assert admission.ignored == 2


def test_an_ignored_alert_still_has_to_be_valid() -> None:
    error = rejection([alert(text="flake", ignoreIfTextContains=["flake"], severity="loud")])
    assert [p["field"] for p in error.problems] == ["alerts.0.severity"]


# -- stamping ---------------------------------------------------------------------------------


def test_an_alert_without_a_timestamp_is_stamped_with_now() -> None:
    assert admit(alert()).accepted[0].timestamp == NOW


def test_an_alert_keeps_a_recent_timestamp_of_its_own() -> None:
    sent = NOW - timedelta(hours=1)
    admission = admit(alert(timestamp=sent.isoformat()))
    assert admission.accepted[0].timestamp == sent


def test_a_timestamp_older_than_seven_days_is_replaced_by_now() -> None:
    stale = NOW - timedelta(days=8)
    assert admit(alert(timestamp=stale.isoformat())).accepted[0].timestamp == NOW


def test_admission_does_not_change_what_the_client_sent_otherwise() -> None:
    body = alert(text="Only 2% left", severity="warning", correlationId="disk-web1")
    accepted = admit(body).accepted[0]
    assert accepted == Alert.from_json_obj(body).routed_to("C123").stamped(NOW)


# -- Alertmanager -----------------------------------------------------------------------------


def am_alert(**labels: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "HighCPU", **labels},
        "annotations": {},
        "startsAt": "2026-11-23T08:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": "1a2b3c",
    }


def webhook(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighCPU"}',
        "status": "firing",
        "receiver": "alertfold",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def admit_am(payload: Any, path_channel: str | None = None) -> Admission:
    return admit_alertmanager(payload, routes=ROUTES, now=NOW, path_channel=path_channel)


def test_alertmanager_alerts_take_the_path_channel_when_they_name_none() -> None:
    admission = admit_am(webhook(am_alert(), am_alert()), path_channel="c999")
    assert [a.slack_channel_id for a in admission.accepted] == ["C999", "C999"]


def test_an_alertmanager_alerts_own_channel_label_wins_over_the_path_channel() -> None:
    admission = admit_am(webhook(am_alert(channel="C123")), path_channel="C999")
    assert admission.accepted[0].slack_channel_id == "C123"


def test_an_alertmanager_route_key_is_resolved_through_the_route_table() -> None:
    admission = admit_am(webhook(am_alert(routeKey="payments")))
    assert admission.accepted[0].slack_channel_id == PAYMENTS


def test_an_alertmanager_alert_with_an_unknown_route_key_is_rejected_alone() -> None:
    admission = admit_am(webhook(am_alert(routeKey="payments"), am_alert(routeKey="billing")))
    assert [a.slack_channel_id for a in admission.accepted] == [PAYMENTS]
    assert [(r.index, r.problems) for r in admission.rejected] == [
        (
            1,
            [
                {
                    "field": "alerts.1.slackChannelId",
                    "message": "no routing rule matches route key 'billing'",
                }
            ],
        )
    ]


def test_alertmanager_alerts_are_stamped_and_carry_a_correlation_id() -> None:
    accepted = admit_am(webhook(am_alert()), path_channel="C999").accepted[0]
    assert accepted.timestamp is not None
    assert accepted.timestamp <= NOW
    assert accepted.correlation_id


def test_a_payload_that_is_not_an_alertmanager_webhook_is_rejected() -> None:
    with pytest.raises(AlertRejected):
        admit_am([am_alert()])
