"""Alert defaults and the pure steps that complete an alert: routing, stamping, ignoring, JSON."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.alert import Alert, slack_manager_hash
from domain.errors import AlertRejected, NoChannel
from domain.severity import Severity

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def read(**fields: Any) -> Alert:
    return Alert.from_json_obj({"header": "Disk full", **fields})


# -- defaults ---------------------------------------------------------------------------------


def test_issue_follow_up_is_disabled_by_default() -> None:
    assert read().issue_follow_up_enabled is False


def test_auto_resolve_defaults_to_one_hour() -> None:
    assert read().auto_resolve_seconds == 3600


def test_auto_resolve_default_is_accepted_when_follow_up_is_enabled() -> None:
    assert read(issueFollowUpEnabled=True).auto_resolve_seconds == 3600


def test_auto_resolve_as_inconclusive_is_disabled_by_default() -> None:
    assert read().auto_resolve_as_inconclusive is False


def test_delays_default_to_zero() -> None:
    alert = read()
    assert (alert.notification_delay_seconds, alert.archiving_delay_seconds) == (0, 0)


def test_optional_strings_default_to_empty() -> None:
    alert = read()
    assert alert.correlation_id == alert.slack_channel_id == alert.route_key == alert.text == ""


def test_collections_default_to_empty() -> None:
    alert = read()
    assert alert.fields == alert.escalation == alert.webhooks == alert.ignore_if_text_contains == ()
    assert alert.metadata == {}


def test_timestamp_defaults_to_missing() -> None:
    assert read().timestamp is None


def test_alerts_are_immutable() -> None:
    alert = read()
    with pytest.raises(ValueError, match="frozen"):
        alert.header = "changed"  # type: ignore[misc]


def test_python_callers_can_build_alerts_by_attribute_name() -> None:
    alert = Alert(header="h", slack_channel_id="c1", severity=Severity.WARNING)
    assert alert.slack_channel_id == "C1" and alert.severity is Severity.WARNING


# -- routed_to --------------------------------------------------------------------------------


def test_routed_to_sets_the_channel_upper_cased() -> None:
    assert read().routed_to("c0123456789").slack_channel_id == "C0123456789"


def test_routed_to_keeps_an_explicit_correlation_id() -> None:
    assert read(correlationId="db-down").routed_to("C1").correlation_id == "db-down"


def test_default_correlation_id_is_slack_managers_hash_of_content_and_channel() -> None:
    alert = Alert.from_json_obj(
        {"header": "Disk full", "author": "backup-job", "host": "db-1", "text": "/var is at 97%"}
    )
    # Computed with Slack Manager's internal.Hash in Go (sha256, base64.URLEncoding).
    assert alert.routed_to("C0123456789").correlation_id == (
        "Apg4hGicuj17cvrCM8q0-V6Fi5ewnDBsIR0ybNJPEms="
    )


def test_default_correlation_id_concatenates_header_author_host_text_and_channel() -> None:
    alert = read(author="a", host="h", text="t").routed_to("C1")
    digest = hashlib.sha256(b"Disk fullahtC1").digest()
    assert alert.correlation_id == base64.urlsafe_b64encode(digest).decode()


def test_default_correlation_id_differs_per_channel() -> None:
    alert = read()
    assert alert.routed_to("C1").correlation_id != alert.routed_to("C2").correlation_id


def test_default_correlation_id_is_derived_from_cleaned_values() -> None:
    assert (
        read(header="  Disk full \n").routed_to("C1").correlation_id
        == read(header="Disk full").routed_to("C1").correlation_id
    )


def test_routed_to_an_empty_channel_raises_no_channel() -> None:
    with pytest.raises(NoChannel):
        read().routed_to(" ")


def test_routed_to_an_invalid_channel_is_rejected() -> None:
    with pytest.raises(AlertRejected) as caught:
        read().routed_to("#alerts")
    assert caught.value.problems[0]["field"] == "slackChannelId"


def test_routed_to_leaves_the_original_unchanged() -> None:
    alert = read()
    alert.routed_to("C1")
    assert alert.slack_channel_id == "" and alert.correlation_id == ""


def test_slack_manager_hash_is_padded_base64url() -> None:
    assert slack_manager_hash("x").endswith("=") and len(slack_manager_hash("x")) == 44


# -- stamped ----------------------------------------------------------------------------------


def test_missing_timestamp_is_stamped_with_now() -> None:
    assert read().stamped(NOW).timestamp == NOW


def test_timestamp_older_than_7_days_is_replaced_by_now() -> None:
    old = NOW - timedelta(days=7, seconds=1)
    assert read(timestamp=old.isoformat()).stamped(NOW).timestamp == NOW


def test_timestamp_exactly_7_days_old_is_kept() -> None:
    edge = NOW - timedelta(days=7)
    assert read(timestamp=edge.isoformat()).stamped(NOW).timestamp == edge


def test_recent_timestamp_is_kept() -> None:
    recent = NOW - timedelta(minutes=5)
    assert read(timestamp=recent.isoformat()).stamped(NOW).timestamp == recent


def test_future_timestamp_is_clamped_to_now() -> None:
    later = NOW + timedelta(minutes=5)
    assert read(timestamp=later.isoformat()).stamped(NOW).timestamp == NOW


def test_go_zero_timestamp_is_replaced_by_now() -> None:
    assert read(timestamp="0001-01-01T00:00:00Z").stamped(NOW).timestamp == NOW


def test_stamped_timestamp_is_utc() -> None:
    cet = timezone(timedelta(hours=1))
    stamped = read().stamped(NOW.astimezone(cet)).timestamp
    assert stamped is not None and stamped.tzinfo is UTC and stamped == NOW


def test_stamping_needs_a_timezone_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read().stamped(datetime(2026, 11, 23, 9, 0))


# -- is_ignored -------------------------------------------------------------------------------


def test_alert_whose_text_contains_an_ignore_term_is_ignored() -> None:
    assert read(text="disk is full", ignoreIfTextContains=["is full"]).is_ignored()


def test_ignore_terms_match_case_insensitively() -> None:
    assert read(text="Disk IS FULL", ignoreIfTextContains=["is full"]).is_ignored()


def test_alert_without_a_matching_ignore_term_is_not_ignored() -> None:
    assert not read(text="disk is full", ignoreIfTextContains=["memory"]).is_ignored()


def test_ignore_terms_do_not_look_at_the_header() -> None:
    assert not read(header="Disk full", text="x", ignoreIfTextContains=["disk"]).is_ignored()


def test_empty_ignore_terms_never_match() -> None:
    assert not read(text="anything", ignoreIfTextContains=["", "  "]).is_ignored()


# -- JSON -------------------------------------------------------------------------------------

FULL: dict[str, Any] = {
    "timestamp": "2026-11-23T09:00:00.5Z",
    "correlationId": "db-down",
    "type": "infra",
    "header": ":status: Database down",
    "headerWhenResolved": "Database back",
    "text": "primary does not answer",
    "textWhenResolved": "primary answers again",
    "fallbackText": "Database down",
    "author": "pg-probe",
    "host": "db-1",
    "footer": "runbook: db",
    "link": "https://grafana.example.com/d/db",
    "issueFollowUpEnabled": True,
    "autoResolveSeconds": 900,
    "autoResolveAsInconclusive": True,
    "severity": "panic",
    "slackChannelId": "C0123456789",
    "routeKey": "db",
    "username": "db-bot",
    "iconEmoji": ":elephant:",
    "fields": [{"title": "Replica lag", "value": "12 s"}],
    "notificationDelaySeconds": 60,
    "archivingDelaySeconds": 3600,
    "escalation": [
        {
            "severity": "panic",
            "delaySeconds": 600,
            "slackMentions": ["<!here>", "<@U012AB3CD>"],
            "moveToChannel": "C0987654321",
        }
    ],
    "ignoreIfTextContains": ["maintenance"],
    "failOnRateLimitError": True,
    "webhooks": [
        {
            "id": "failover",
            "url": "https://ops.example.com/failover",
            "buttonText": "Fail over",
            "confirmationText": "Really?",
            "skipConfirmationDialog": False,
            "buttonStyle": "danger",
            "accessLevel": "channel_admins",
            "displayMode": "always",
            "payload": {"cluster": "main"},
            "plainTextInput": [
                {
                    "id": "reason",
                    "description": "Why?",
                    "minLength": 3,
                    "maxLength": 200,
                    "multiline": True,
                    "initialValue": "manual",
                }
            ],
            "checkboxInput": [
                {
                    "id": "notify",
                    "label": "Notify",
                    "options": [{"value": "team", "text": "Team", "selected": True}],
                }
            ],
        }
    ],
    "metadata": {"team": "storage", "ticket": 42},
}


def test_to_json_obj_writes_every_slack_manager_key_in_camel_case() -> None:
    assert Alert.from_json_obj(FULL).to_json_obj() == {
        **FULL,
        "timestamp": "2026-11-23T09:00:00.500000Z",
    }


def test_to_json_obj_round_trips_through_from_json_obj() -> None:
    alert = Alert.from_json_obj(FULL)
    assert Alert.from_json_obj(alert.to_json_obj()) == alert


def test_a_minimal_alert_round_trips_through_json() -> None:
    alert = read()
    assert Alert.from_json_obj(alert.to_json_obj()) == alert


def test_to_json_obj_writes_missing_timestamp_as_null() -> None:
    assert read().to_json_obj()["timestamp"] is None


def test_routed_and_stamped_alert_round_trips_through_json() -> None:
    alert = read().routed_to("C1").stamped(NOW)
    assert Alert.from_json_obj(alert.to_json_obj()) == alert
