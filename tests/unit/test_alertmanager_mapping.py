"""Alertmanager webhooks (version 4) mapped to alerts the way Slack Manager maps them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.alert import Alert
from domain.alertmanager import go_rfc3339_nano
from domain.alertmanager_webhook import alerts_from_alertmanager
from domain.errors import AlertRejected, EmptyAlertmanagerPayload
from domain.severity import Severity

GROUP_KEY = '{}:{alertname="HighCPU"}'
STARTS_AT = "2024-05-01T12:00:00.120000000Z"


def am_alert(
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "HighCPU", **(labels or {})},
        "annotations": annotations or {},
        "startsAt": STARTS_AT,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": "1a2b3c",
        **more,
    }


def webhook(*alerts: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "status": "firing",
        "receiver": "alertfold",
        "groupLabels": {"alertname": "HighCPU"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": list(alerts) or [am_alert()],
        **more,
    }


def one(
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    path_channel: str | None = None,
    **more: Any,
) -> Alert:
    alerts = alerts_from_alertmanager(webhook(am_alert(labels, annotations, **more)), path_channel)
    assert len(alerts) == 1
    return alerts[0]


def rejected(payload: object) -> list[dict[str, str]]:
    with pytest.raises(AlertRejected) as caught:
        alerts_from_alertmanager(payload)
    return caught.value.problems


# -- the payload ------------------------------------------------------------------------------


def test_every_alert_of_the_webhook_becomes_an_alert_in_order() -> None:
    alerts = alerts_from_alertmanager(
        webhook(am_alert({"alertname": "A"}), am_alert({"alertname": "B"}))
    )
    assert [a.metadata["labels"]["alertname"] for a in alerts] == ["A", "B"]


def test_empty_alert_list_raises_empty_alertmanager_payload() -> None:
    with pytest.raises(EmptyAlertmanagerPayload):
        alerts_from_alertmanager({"version": "4", "alerts": []})


def test_payload_that_is_not_an_object_is_rejected() -> None:
    assert rejected([am_alert()]) == [
        {"field": "", "message": "must be a JSON object, got an array"}
    ]


def test_payload_without_alerts_is_rejected() -> None:
    assert rejected({"version": "4", "status": "firing"}) == [
        {"field": "alerts", "message": "is required: a version 4 webhook lists its alerts here"}
    ]


def test_other_webhook_versions_are_rejected() -> None:
    assert rejected(webhook(version="3")) == [
        {
            "field": "version",
            "message": "Alertmanager webhook version '3' is not supported; expected '4'",
        }
    ]


def test_payload_without_a_version_is_read_as_version_4() -> None:
    payload = webhook()
    del payload["version"]
    assert len(alerts_from_alertmanager(payload)) == 1


def test_alert_that_is_not_an_object_is_rejected_at_its_index() -> None:
    assert rejected(webhook(am_alert(), "oops")) == [
        {"field": "alerts.1", "message": "must be an object (one Alertmanager alert), got a string"}
    ]


def test_label_value_that_is_not_a_string_is_rejected() -> None:
    found = rejected(webhook(am_alert() | {"labels": {"replicas": 3}}))
    assert found == [
        {"field": "alerts.0.labels.replicas", "message": "Input should be a valid string"}
    ]


def test_starts_at_that_is_not_rfc_3339_is_rejected() -> None:
    assert rejected(webhook(am_alert(startsAt="now")))[0]["field"] == "alerts.0.startsAt"


def test_mapped_alert_that_fails_validation_is_rejected_under_its_index() -> None:
    found = rejected(webhook(am_alert(), am_alert(annotations={"iconemoji": "fire"})))
    assert [p["field"] for p in found] == ["alerts.1.iconEmoji"]


def test_rejection_message_names_the_alertmanager_webhook() -> None:
    with pytest.raises(AlertRejected, match=r"^the Alertmanager webhook was rejected: version"):
        alerts_from_alertmanager(webhook(version="5"))


def test_null_labels_and_annotations_read_as_empty() -> None:
    alert = alerts_from_alertmanager(webhook(am_alert() | {"labels": None, "annotations": None}))
    assert alert[0].header == ":status: Prometheus alert" and alert[0].metadata["labels"] == {}


# -- how keys are found ---------------------------------------------------------------------


def test_annotation_wins_over_label_with_the_same_key() -> None:
    assert one(
        labels={"summary": "from label"}, annotations={"summary": "from annotation"}
    ).header == (":status: from annotation")


def test_keys_are_compared_lower_cased() -> None:
    assert one(annotations={"Summary": "CPU high"}).header == ":status: CPU high"


def test_earlier_key_in_a_label_beats_later_key_in_an_annotation() -> None:
    assert one(
        labels={"header": "label header"}, annotations={"title": "annotation title"}
    ).header == (":status: label header")


def test_values_are_trimmed() -> None:
    assert one(annotations={"summary": "  CPU high  "}).header == ":status: CPU high"


# -- header, text and presentation ------------------------------------------------------------


@pytest.mark.parametrize("key", ["header", "title", "summary"])
def test_header_is_read_from_header_title_or_summary(key: str) -> None:
    assert one(annotations={key: "CPU high"}).header == ":status: CPU high"


def test_header_defaults_to_prometheus_alert() -> None:
    assert one().header == ":status: Prometheus alert"


def test_status_placeholder_is_not_added_when_the_header_has_one() -> None:
    assert one(annotations={"summary": "CPU high :status:"}).header == "CPU high :status:"


def test_status_placeholder_is_not_added_when_the_text_has_one() -> None:
    assert one(annotations={"summary": "CPU", "description": ":status: hot"}).header == "CPU"


@pytest.mark.parametrize("key", ["text", "description", "body"])
def test_text_is_read_from_text_description_or_body(key: str) -> None:
    assert one(annotations={key: "cpu > 90%"}).text == "cpu > 90%"


def test_fallback_text_defaults_to_the_header_without_placeholder() -> None:
    assert one(annotations={"summary": "CPU high"}).fallback_text == "CPU high"


def test_fallback_text_is_read_from_fallbacktext() -> None:
    assert one(annotations={"fallbackText": "short"}).fallback_text == "short"


@pytest.mark.parametrize("key", ["author", "host", "footer", "username"])
def test_plain_presentation_keys_are_copied(key: str) -> None:
    assert one(annotations={key: "value"}).to_json_obj()[key] == "value"


@pytest.mark.parametrize("key", ["iconemoji", "icon"])
def test_icon_emoji_is_read_from_iconemoji_or_icon(key: str) -> None:
    assert one(annotations={key: ":fire:"}).icon_emoji == ":fire:"


@pytest.mark.parametrize("key", ["alerttype", "alert_type", "type"])
def test_type_is_read_from_alerttype_alert_type_or_type(key: str) -> None:
    assert one(labels={key: "Infra"}).type == "infra"


def test_link_defaults_to_the_generator_url() -> None:
    assert one().link == "http://prometheus:9090/graph?g0.expr=up"


def test_link_annotation_wins_over_the_generator_url() -> None:
    assert one(annotations={"link": "https://runbooks/cpu"}).link == "https://runbooks/cpu"


def test_generator_url_that_is_not_an_absolute_http_url_is_left_out() -> None:
    assert one(generatorURL="/graph?g0.expr=up").link == ""


def test_generator_url_holding_slack_link_syntax_is_left_out() -> None:
    assert one(generatorURL='http://prometheus:9090/graph?g0.expr=up{job=~"a|b"}').link == ""


# -- channel and route key --------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "slackchannelid",
        "channel",
        "slackchannel",
        "channelid",
        "slack_channel_id",
        "slack_channel",
        "channel_id",
    ],
)
def test_channel_is_read_from_any_of_its_spellings(key: str) -> None:
    assert one(labels={key: "c0123456789"}).slack_channel_id == "C0123456789"


def test_channel_falls_back_to_the_path_channel() -> None:
    assert one(path_channel="c0999").slack_channel_id == "C0999"


def test_channel_label_wins_over_the_path_channel() -> None:
    assert one(labels={"channel": "C0123"}, path_channel="C0999").slack_channel_id == "C0123"


def test_without_any_channel_the_alert_has_none() -> None:
    assert one().slack_channel_id == ""


@pytest.mark.parametrize("key", ["routekey", "route", "route_key"])
def test_route_key_is_read_from_routekey_route_or_route_key(key: str) -> None:
    assert one(labels={key: "Team-Payments"}).route_key == "team-payments"


# -- severity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["severity", "level"])
def test_severity_is_read_from_severity_or_level(key: str) -> None:
    assert one(labels={key: "warning"}).severity is Severity.WARNING


def test_critical_severity_is_read_as_error() -> None:
    assert one(labels={"severity": "critical"}).severity is Severity.ERROR


def test_missing_severity_is_read_as_error() -> None:
    assert one().severity is Severity.ERROR


def test_unknown_severity_is_read_as_error_instead_of_rejecting_the_webhook() -> None:
    assert one(labels={"severity": "page"}).severity is Severity.ERROR


def test_severity_is_read_case_insensitively() -> None:
    assert one(labels={"severity": "PANIC"}).severity is Severity.PANIC


def test_resolved_alert_has_severity_resolved_whatever_its_label_says() -> None:
    alert = one(labels={"severity": "critical"}, status="resolved")
    assert alert.severity is Severity.RESOLVED


# -- timestamp --------------------------------------------------------------------------------


def test_timestamp_is_the_start_of_a_firing_alert() -> None:
    assert one().timestamp == datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)


def test_timestamp_is_the_end_of_a_resolved_alert() -> None:
    alert = one(status="resolved", endsAt="2024-05-01T12:30:00Z")
    assert alert.timestamp == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_resolved_alert_without_an_end_is_timed_at_its_start() -> None:
    alert = one(status="resolved", endsAt="0001-01-01T00:00:00Z")
    assert alert.timestamp == datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)


def test_alert_without_a_start_has_no_timestamp() -> None:
    assert one(startsAt="0001-01-01T00:00:00Z").timestamp is None


# -- correlation id ---------------------------------------------------------------------------

# Expected ids computed with Slack Manager's internal.Hash (Go, sha256 + base64.URLEncoding).


def test_correlation_id_annotation_is_used_as_is() -> None:
    assert one(annotations={"correlationId": "cpu-node-1"}).correlation_id == "cpu-node-1"


def test_correlation_id_is_read_from_correlation_id_too() -> None:
    assert one(labels={"correlation_id": "cpu-node-1"}).correlation_id == "cpu-node-1"


def test_correlation_id_is_derived_from_identifying_labels() -> None:
    alert = one(labels={"namespace": "prod", "alertname": "HighCPU", "job": "node", "pod": "p-1"})
    assert alert.correlation_id == "LH8WPprNmczlsVl-jWcw6LnnTdxV0mAJCS8qi01bw_o="


def test_label_derived_correlation_id_ignores_other_labels() -> None:
    base = {"namespace": "prod", "alertname": "HighCPU", "job": "node"}
    assert one(labels=base).correlation_id == one(labels={**base, "pod": "p-2"}).correlation_id


def test_label_derived_correlation_id_reads_label_keys_lower_cased() -> None:
    alert = one(labels={"Namespace": "prod", "alertname": "HighCPU", "JOB": "node"})
    assert alert.correlation_id == "LH8WPprNmczlsVl-jWcw6LnnTdxV0mAJCS8qi01bw_o="


def test_instance_counts_in_the_monitoring_namespace() -> None:
    alert = one(
        labels={"namespace": "monitoring", "alertname": "TargetDown", "instance": "10.0.0.1:9100"}
    )
    assert alert.correlation_id == "F61MLs7ea6K3tNOXjTZC_ASXA_4Qy0tDzzl_PCrRHKY="


def test_instance_does_not_count_outside_the_monitoring_namespace() -> None:
    base = {"namespace": "prod", "alertname": "HighCPU"}
    assert one(labels={**base, "instance": "a"}).correlation_id == (
        one(labels={**base, "instance": "b"}).correlation_id
    )


def test_correlation_id_annotation_wins_over_label_derivation() -> None:
    assert one(labels={"job": "node"}, annotations={"correlationid": "x"}).correlation_id == "x"


def test_without_identifying_labels_correlation_id_is_group_key_hash_and_start() -> None:
    payload = webhook(
        {"status": "firing", "labels": {"severity": "warning"}, "startsAt": STARTS_AT}
    )
    alert = alerts_from_alertmanager(payload)[0]
    assert alert.correlation_id == (
        "nyoJmt-Zrb8-HSSrvYSDVGjnW4uW_KAQ2z8rdjNA5ME=-2024-05-01T12:00:00.12Z"
    )


@pytest.mark.parametrize(
    ("raw", "printed"),
    [
        ("2024-05-01T12:00:00.120000000Z", "2024-05-01T12:00:00.12Z"),
        ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00Z"),
        ("2024-05-01T14:00:00.5+02:00", "2024-05-01T14:00:00.5+02:00"),
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00Z"),
        ("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123456789Z"),
        ("", "0001-01-01T00:00:00Z"),
    ],
)
def test_start_time_in_fallback_correlation_id_is_printed_as_go_prints_it(
    raw: str, printed: str
) -> None:
    assert go_rfc3339_nano(raw) == printed


# -- defaults and tunables --------------------------------------------------------------------


def test_issue_follow_up_is_enabled_by_default() -> None:
    assert one().issue_follow_up_enabled is True


def test_issue_follow_up_can_be_disabled() -> None:
    assert one(annotations={"issueFollowUpEnabled": "False"}).issue_follow_up_enabled is False


def test_auto_resolve_defaults_to_one_hour() -> None:
    assert one().auto_resolve_seconds == 3600


def test_auto_resolve_is_read_from_autoresolveseconds() -> None:
    assert one(annotations={"autoResolveSeconds": "600"}).auto_resolve_seconds == 600


@pytest.mark.parametrize("value", ["29", "-1", "soon", "1.5"])
def test_unusable_auto_resolve_falls_back_to_one_hour(value: str) -> None:
    assert one(annotations={"autoresolveseconds": value}).auto_resolve_seconds == 3600


def test_auto_resolve_as_inconclusive_is_enabled_by_default() -> None:
    assert one().auto_resolve_as_inconclusive is True


def test_archiving_delay_defaults_to_six_hours() -> None:
    assert one().archiving_delay_seconds == 21_600


@pytest.mark.parametrize("key", ["archivingDelaySeconds", "deletionDelaySeconds"])
def test_archiving_delay_is_read_from_archiving_or_deletion_delay(key: str) -> None:
    assert one(annotations={key: "60"}).archiving_delay_seconds == 60


def test_negative_archiving_delay_falls_back_to_six_hours() -> None:
    assert one(annotations={"archivingdelayseconds": "-1"}).archiving_delay_seconds == 21_600


def test_notification_delay_is_read_from_notificationdelayseconds() -> None:
    assert one(annotations={"notificationDelaySeconds": "120"}).notification_delay_seconds == 120


def test_notification_delay_longer_than_auto_resolve_is_dropped() -> None:
    found = one(annotations={"notificationdelayseconds": "4000"})
    assert found.notification_delay_seconds == 0


def test_ignore_if_text_contains_is_read_as_a_single_term() -> None:
    alert = one(annotations={"description": "in maintenance", "ignoreIfTextContains": "maint"})
    assert alert.ignore_if_text_contains == ("maint",) and alert.is_ignored()


def test_fail_on_rate_limit_error_is_read_as_a_flag() -> None:
    assert one(labels={"failOnRateLimitError": "true"}).fail_on_rate_limit_error is True


def test_metadata_keeps_the_original_alertmanager_alert() -> None:
    alert = one(labels={"Team": "storage"}, annotations={"summary": "CPU"})
    assert alert.metadata == {
        "status": "firing",
        "labels": {"alertname": "HighCPU", "Team": "storage"},
        "annotations": {"summary": "CPU"},
        "startsAt": STARTS_AT,
        "endsAt": "0001-01-01T00:00:00Z",
        "groupKey": GROUP_KEY,
        "fingerprint": "1a2b3c",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }


def test_mapped_alert_round_trips_through_alert_json() -> None:
    alert = one(labels={"channel": "C0123", "severity": "warning"})
    assert Alert.from_json_obj(alert.to_json_obj()) == alert


def test_label_values_are_hashed_as_sent_like_slack_manager_does() -> None:
    base = {"alertname": "HighCPU", "job": "node"}
    assert one(labels={**base, "namespace": " prod"}).correlation_id != (
        one(labels={**base, "namespace": "prod"}).correlation_id
    )
