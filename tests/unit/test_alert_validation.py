"""Reading Slack Manager alert JSON: cleaning, limits and the problems reported to clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from domain.alert import Alert
from domain.errors import AlertRejected
from domain.severity import Severity


def read(**fields: Any) -> Alert:
    return Alert.from_json_obj({"header": "Disk full", **fields})


def problems(obj: object) -> list[dict[str, str]]:
    with pytest.raises(AlertRejected) as caught:
        Alert.from_json_obj(obj)
    return caught.value.problems


def fields_of(obj: object) -> list[str]:
    return [p["field"] for p in problems(obj)]


def only_problem(**fields: Any) -> dict[str, str]:
    found = problems({"header": "Disk full", **fields})
    assert len(found) == 1, found
    return found[0]


# -- the envelope ---------------------------------------------------------------------------


def test_a_minimal_alert_with_only_a_header_is_accepted() -> None:
    assert read().header == "Disk full"


def test_a_minimal_alert_with_only_a_text_is_accepted() -> None:
    assert Alert.from_json_obj({"text": "details"}).text == "details"


def test_header_and_text_both_empty_is_rejected_on_header() -> None:
    assert problems({"header": " ", "text": ""}) == [
        {"field": "header", "message": "header and text cannot both be empty"}
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [([], "an array"), ("alert", "a string"), (None, "null"), (3, "a number"), (True, "a boolean")],
)
def test_a_body_that_is_not_an_object_is_rejected_with_its_json_type(
    value: object, kind: str
) -> None:
    assert problems(value) == [
        {"field": "", "message": f"an alert must be a JSON object, got {kind}"}
    ]


def test_unknown_keys_are_ignored() -> None:
    assert read(slackChannelName="alerts", originalText="x").header == "Disk full"


def test_null_values_read_as_not_sent() -> None:
    alert = read(fields=None, escalation=None, metadata=None, timestamp=None, severity=None)
    assert alert.fields == () and alert.escalation == () and alert.metadata == {}
    assert alert.timestamp is None and alert.severity is Severity.ERROR


def test_keys_match_case_insensitively_like_go_json() -> None:
    alert = Alert.from_json_obj({"Header": "h", "SlackChannelID": "c1", "ROUTEKEY": "Team"})
    assert (alert.header, alert.slack_channel_id, alert.route_key) == ("h", "C1", "team")


def test_exactly_spelled_key_wins_over_other_spellings() -> None:
    assert Alert.from_json_obj({"HEADER": "other", "header": "exact"}).header == "exact"


def test_snake_case_attribute_names_are_accepted_too() -> None:
    assert Alert.from_json_obj({"header": "h", "slack_channel_id": "c9"}).slack_channel_id == "C9"


def test_every_problem_is_reported_at_once() -> None:
    assert set(fields_of({"header": "h", "severity": "bad", "link": "nope", "iconEmoji": "x"})) == {
        "severity",
        "link",
        "iconEmoji",
    }


def test_rejection_message_names_each_field_and_problem() -> None:
    with pytest.raises(AlertRejected) as caught:
        Alert.from_json_obj({"header": "h", "correlationId": "x" * 501})
    assert str(caught.value) == (
        "the alert was rejected: correlationId: must be at most 500 characters long, got 501"
    )


def test_a_field_of_the_wrong_json_type_is_rejected_on_that_field() -> None:
    assert fields_of({"header": "h", "issueFollowUpEnabled": "maybe"}) == ["issueFollowUpEnabled"]


def test_an_array_field_given_a_string_is_rejected_as_not_an_array() -> None:
    assert only_problem(fields="title") == {
        "field": "fields",
        "message": "must be a JSON array, got a string",
    }


def test_an_array_item_that_is_not_an_object_is_rejected_at_its_index() -> None:
    assert only_problem(fields=[{"title": "a"}, "b"]) == {
        "field": "fields.1",
        "message": "must be a JSON object, got a string",
    }


# -- strings: trimming, case, truncation -----------------------------------------------------


def test_strings_are_trimmed() -> None:
    alert = read(header="  Disk full  ", author=" ops ", correlationId=" abc ")
    assert (alert.header, alert.author, alert.correlation_id) == ("Disk full", "ops", "abc")


def test_header_longer_than_130_characters_is_truncated_with_ellipsis() -> None:
    header = read(header="h" * 131).header
    assert header == "h" * 127 + "..." and len(header) == 130


def test_header_of_exactly_130_characters_is_kept() -> None:
    assert read(header="h" * 130).header == "h" * 130


def test_truncation_counts_characters_not_bytes() -> None:
    assert read(header="é" * 130).header == "é" * 130


def test_truncation_trims_the_kept_part_before_the_ellipsis() -> None:
    assert read(header="a" * 126 + " " + "b" * 10).header == "a" * 126 + "..."


def test_newlines_are_removed_from_header() -> None:
    assert read(header="Disk\nfull\r\non db-1").header == "Disk full on db-1"


def test_header_when_resolved_is_cleaned_like_header() -> None:
    assert read(headerWhenResolved="ok\n" + "x" * 200).header_when_resolved == (
        "ok " + "x" * 124 + "..."
    )


def test_text_longer_than_10000_characters_is_truncated_with_ellipsis() -> None:
    text = read(text="t" * 10_001).text
    assert text == "t" * 9_997 + "..." and len(text) == 10_000


def test_text_keeps_its_newlines() -> None:
    assert read(text="line 1\nline 2").text == "line 1\nline 2"


def test_trailing_code_fence_survives_text_truncation() -> None:
    text = read(text="```" + "x" * 10_000 + "```").text
    assert text.endswith("...```") and len(text) == 10_000


def test_text_when_resolved_is_truncated_like_text() -> None:
    assert len(read(textWhenResolved="t" * 20_000).text_when_resolved) == 10_000


def test_fallback_text_longer_than_150_characters_is_truncated() -> None:
    assert read(fallbackText="f" * 151).fallback_text == "f" * 147 + "..."


def test_newlines_are_removed_from_fallback_text() -> None:
    assert read(fallbackText="a\nb").fallback_text == "a b"


def test_status_placeholder_is_removed_from_fallback_text() -> None:
    assert read(fallbackText=":status: Disk full").fallback_text == "Disk full"


@pytest.mark.parametrize(("key", "limit"), [("author", 100), ("host", 100), ("username", 100)])
def test_author_host_and_username_longer_than_100_characters_are_truncated(
    key: str, limit: int
) -> None:
    value = read(**{key: "v" * (limit + 1)}).to_json_obj()[key]
    assert value == "v" * (limit - 3) + "..."


def test_footer_longer_than_300_characters_is_truncated() -> None:
    assert read(footer="f" * 301).footer == "f" * 297 + "..."


def test_type_is_lower_cased() -> None:
    assert read(type=" Security ").type == "security"


def test_route_key_is_lower_cased() -> None:
    assert read(routeKey="Team-Payments").route_key == "team-payments"


def test_route_key_longer_than_1000_characters_is_rejected() -> None:
    assert only_problem(routeKey="r" * 1001) == {
        "field": "routeKey",
        "message": "must be at most 1000 characters long, got 1001",
    }


def test_correlation_id_longer_than_500_characters_is_rejected() -> None:
    assert only_problem(correlationId="c" * 501)["field"] == "correlationId"


def test_correlation_id_of_500_characters_is_accepted() -> None:
    assert read(correlationId="c" * 500).correlation_id == "c" * 500


# -- channel, icon, link ----------------------------------------------------------------------


def test_slack_channel_id_is_upper_cased() -> None:
    assert read(slackChannelId="c0123abc").slack_channel_id == "C0123ABC"


def test_slack_channel_name_with_dashes_and_underscores_is_accepted() -> None:
    assert read(slackChannelId="team-alerts_prod").slack_channel_id == "TEAM-ALERTS_PROD"


def test_slack_channel_with_a_hash_sign_is_rejected() -> None:
    assert only_problem(slackChannelId="#alerts") == {
        "field": "slackChannelId",
        "message": "'#ALERTS' is not a Slack channel id or name: expected 1 to 80 letters, "
        "digits, '-' or '_'",
    }


def test_slack_channel_longer_than_80_characters_is_rejected() -> None:
    assert only_problem(slackChannelId="c" * 81)["field"] == "slackChannelId"


def test_icon_emoji_is_lower_cased() -> None:
    assert read(iconEmoji=":Fire:").icon_emoji == ":fire:"


def test_icon_emoji_without_colons_is_rejected() -> None:
    assert only_problem(iconEmoji="fire") == {
        "field": "iconEmoji",
        "message": "'fire' is not an emoji in the form :name: (name 1 to 50 characters, no colons)",
    }


@pytest.mark.parametrize("link", ["http://grafana.local/d/abc", "HTTPS://example.com/x?y=1"])
def test_absolute_http_links_are_accepted(link: str) -> None:
    assert read(link=link).link == link


@pytest.mark.parametrize(
    "link", ["grafana.local/d/abc", "/relative", "ftp://example.com/x", "https://", "http://a b"]
)
def test_links_that_are_not_absolute_http_urls_are_rejected(link: str) -> None:
    assert only_problem(link=link) == {
        "field": "link",
        "message": "must be an absolute http:// or https:// URL",
    }


@pytest.mark.parametrize(
    ("link", "character", "encoded"),
    [
        ("https://evil.example|https://runbook.internal", "|", "%7C"),
        ("https://grafana.local/d/x?q=<!channel>", "<", "%3C"),
        ("https://grafana.local/d/x?q=a>b", ">", "%3E"),
    ],
)
def test_links_holding_slack_link_syntax_are_rejected(
    link: str, character: str, encoded: str
) -> None:
    assert only_problem(link=link) == {
        "field": "link",
        "message": f"must not contain '{character}': Slack reads '|', '<' and '>' in a link as "
        f"link syntax; write it as {encoded}",
    }


# -- severity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("severity", ["panic", "error", "warning", "resolved", "info"])
def test_the_five_severities_are_accepted(severity: str) -> None:
    assert read(severity=severity).severity == Severity(severity)


def test_severity_is_read_case_insensitively() -> None:
    assert read(severity=" WARNING ").severity is Severity.WARNING


def test_missing_severity_is_read_as_error() -> None:
    assert read().severity is Severity.ERROR


def test_empty_severity_is_read_as_error() -> None:
    assert read(severity="").severity is Severity.ERROR


def test_critical_severity_is_read_as_error() -> None:
    assert read(severity="critical").severity is Severity.ERROR


@pytest.mark.parametrize("spelling", ["resolve", "recover", "recovered"])
def test_resolve_recover_and_recovered_are_read_as_resolved(spelling: str) -> None:
    assert read(severity=spelling).severity is Severity.RESOLVED


def test_unknown_severity_is_rejected_listing_the_allowed_values() -> None:
    assert only_problem(severity="fatal") == {
        "field": "severity",
        "message": "'fatal' is not a valid severity; expected one of panic, error, warning, "
        "resolved, info (critical is read as error; resolve, recover and recovered as resolved)",
    }


def test_non_string_severity_is_rejected() -> None:
    assert only_problem(severity=2)["message"].startswith("int 2 is not a valid severity")


# -- timestamp --------------------------------------------------------------------------------


def test_timestamp_is_read_as_utc() -> None:
    assert read(timestamp="2024-05-01T14:00:00+02:00").timestamp == datetime(
        2024, 5, 1, 12, tzinfo=UTC
    )


def test_timestamp_with_nanoseconds_is_cut_to_microseconds() -> None:
    assert read(timestamp="2024-05-01T12:00:00.123456789Z").timestamp == datetime(
        2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC
    )


def test_go_zero_timestamp_is_read_as_a_very_old_timestamp() -> None:
    assert read(timestamp="0001-01-01T00:00:00Z").timestamp == datetime(1, 1, 1, tzinfo=UTC)


def test_empty_timestamp_is_read_as_missing() -> None:
    assert read(timestamp="").timestamp is None


def test_timestamp_without_offset_is_rejected() -> None:
    assert only_problem(timestamp="2024-05-01T12:00:00") == {
        "field": "timestamp",
        "message": "'2024-05-01T12:00:00' has no time zone offset; RFC 3339 needs Z or ±hh:mm "
        "at the end",
    }


@pytest.mark.parametrize("value", ["yesterday", "2024-05-01", "2024-13-01T00:00:00Z"])
def test_timestamp_that_is_not_rfc_3339_is_rejected(value: str) -> None:
    assert only_problem(timestamp=value)["field"] == "timestamp"


def test_numeric_timestamp_is_rejected() -> None:
    assert only_problem(timestamp=1714564800)["message"] == (
        "must be an RFC 3339 date-time string, e.g. 2024-05-01T12:00:00Z"
    )


# -- numbers ----------------------------------------------------------------------------------


def test_negative_notification_delay_is_read_as_zero() -> None:
    assert read(notificationDelaySeconds=-5).notification_delay_seconds == 0


def test_negative_archiving_delay_is_read_as_zero() -> None:
    assert read(archivingDelaySeconds=-5).archiving_delay_seconds == 0


def test_auto_resolve_below_30_seconds_is_rejected_when_follow_up_is_enabled() -> None:
    assert only_problem(issueFollowUpEnabled=True, autoResolveSeconds=29) == {
        "field": "autoResolveSeconds",
        "message": "must be between 30 and 63113851 seconds when issueFollowUpEnabled is true, "
        "got 29",
    }


def test_auto_resolve_above_about_two_years_is_rejected_when_follow_up_is_enabled() -> None:
    found = only_problem(issueFollowUpEnabled=True, autoResolveSeconds=63_113_852)
    assert found["field"] == "autoResolveSeconds"


@pytest.mark.parametrize("seconds", [30, 63_113_851])
def test_auto_resolve_at_its_limits_is_accepted(seconds: int) -> None:
    alert = read(issueFollowUpEnabled=True, autoResolveSeconds=seconds)
    assert alert.auto_resolve_seconds == seconds


def test_out_of_range_auto_resolve_without_follow_up_is_replaced_by_the_default() -> None:
    assert read(autoResolveSeconds=0).auto_resolve_seconds == 3600


def test_fractional_delay_is_rejected() -> None:
    assert fields_of({"header": "h", "notificationDelaySeconds": 1.5}) == [
        "notificationDelaySeconds"
    ]


# -- fields -----------------------------------------------------------------------------------


def test_field_title_longer_than_30_characters_is_truncated() -> None:
    assert read(fields=[{"title": "t" * 31, "value": "v"}]).fields[0].title == "t" * 27 + "..."


def test_field_value_longer_than_200_characters_is_truncated() -> None:
    assert read(fields=[{"title": "t", "value": "v" * 201}]).fields[0].value == "v" * 197 + "..."


def test_twenty_fields_are_accepted() -> None:
    assert len(read(fields=[{"title": "t", "value": "v"}] * 20).fields) == 20


def test_more_than_20_fields_are_rejected() -> None:
    assert only_problem(fields=[{"title": "t", "value": "v"}] * 21) == {
        "field": "fields",
        "message": "must have at most 20 items, got 21",
    }


# -- escalation -------------------------------------------------------------------------------


def point(delay: int, severity: str = "error", **more: Any) -> dict[str, Any]:
    return {"severity": severity, "delaySeconds": delay, **more}


def test_escalation_points_are_sorted_by_delay() -> None:
    alert = read(escalation=[point(600, "panic"), point(60, "warning"), point(300)])
    assert [p.delay_seconds for p in alert.escalation] == [60, 300, 600]


def test_more_than_3_escalation_points_are_rejected() -> None:
    assert only_problem(escalation=[point(60), point(120), point(180), point(240)]) == {
        "field": "escalation",
        "message": "must have at most 3 items, got 4",
    }


def test_escalation_delay_below_30_seconds_is_rejected() -> None:
    assert only_problem(escalation=[point(29)]) == {
        "field": "escalation.0.delaySeconds",
        "message": "must be at least 30, got 29",
    }


def test_escalation_point_less_than_30_seconds_after_the_previous_is_rejected() -> None:
    assert only_problem(escalation=[point(60), point(89)]) == {
        "field": "escalation.1.delaySeconds",
        "message": "must be at least 30 seconds after the previous escalation point (60), got 89",
    }


def test_escalation_spacing_problem_points_at_the_index_the_client_sent() -> None:
    found = only_problem(escalation=[point(89), point(60)])
    assert found["field"] == "escalation.0.delaySeconds"


@pytest.mark.parametrize("severity", ["info", "resolved", "bogus", ""])
def test_escalation_severity_other_than_panic_error_or_warning_is_rejected(severity: str) -> None:
    found = only_problem(escalation=[point(60, severity)])
    assert found["field"] == "escalation.0.severity"
    assert found["message"].endswith("expected one of panic, error, warning")


def test_escalation_severity_critical_is_read_as_error() -> None:
    assert read(escalation=[point(60, "Critical")]).escalation[0].severity is Severity.ERROR


def test_escalation_without_delay_is_rejected() -> None:
    assert fields_of({"header": "h", "escalation": [{"severity": "error"}]}) == [
        "escalation.0.delaySeconds"
    ]


@pytest.mark.parametrize("mention", ["<!here>", "<!channel>", "<@U012AB3CD>", "<@S0614TZR7>"])
def test_here_channel_and_user_mentions_are_accepted(mention: str) -> None:
    assert read(escalation=[point(60, slackMentions=[mention])]).escalation[0].slack_mentions == (
        mention,
    )


@pytest.mark.parametrize("mention", ["@here", "<!everyone>", "<@>", "U012AB3CD", "<@U 1>"])
def test_other_mentions_are_rejected_at_their_index(mention: str) -> None:
    found = only_problem(escalation=[point(60, slackMentions=["<!here>", mention])])
    assert found["field"] == "escalation.0.slackMentions.1"
    assert "is not a Slack mention" in found["message"]


def test_more_than_10_mentions_are_rejected() -> None:
    found = only_problem(escalation=[point(60, slackMentions=["<!here>"] * 11)])
    assert found == {
        "field": "escalation.0.slackMentions",
        "message": "must have at most 10 items, got 11",
    }


def test_move_to_channel_is_upper_cased() -> None:
    alert = read(escalation=[point(60, moveToChannel="c0456")])
    assert alert.escalation[0].move_to_channel == "C0456"


def test_invalid_move_to_channel_is_rejected() -> None:
    found = only_problem(escalation=[point(60, moveToChannel="#oncall")])
    assert found["field"] == "escalation.0.moveToChannel"


# -- ignoreIfTextContains ---------------------------------------------------------------------


def test_twenty_ignore_terms_are_accepted() -> None:
    assert len(read(ignoreIfTextContains=["x"] * 20).ignore_if_text_contains) == 20


def test_more_than_20_ignore_terms_are_rejected() -> None:
    assert only_problem(ignoreIfTextContains=["x"] * 21) == {
        "field": "ignoreIfTextContains",
        "message": "must have at most 20 items, got 21",
    }


def test_ignore_term_longer_than_1000_characters_is_rejected_at_its_index() -> None:
    assert only_problem(ignoreIfTextContains=["ok", "x" * 1001])["field"] == (
        "ignoreIfTextContains.1"
    )


# -- metadata ---------------------------------------------------------------------------------


def test_metadata_is_kept_exactly_as_sent() -> None:
    metadata = {" key ": " value ", "nested": {"list": [1, None, "x"]}}
    assert read(metadata=metadata).metadata == metadata


def test_metadata_that_is_not_an_object_is_rejected() -> None:
    assert only_problem(metadata=["a"]) == {
        "field": "metadata",
        "message": "must be a JSON object, got an array",
    }


# -- messages ---------------------------------------------------------------------------------


def test_long_values_are_cut_short_when_quoted_in_a_message() -> None:
    message = only_problem(severity="x" * 500)["message"]
    assert message.startswith("'" + "x" * 57 + "...' is not a valid severity")


def test_pydantic_validation_error_names_the_field_path_and_the_limit() -> None:
    with pytest.raises(ValidationError) as caught:
        Alert.model_validate(
            {"header": "h", "escalation": [{"severity": "error", "delaySeconds": 5}]}
        )
    assert "escalation.0.delaySeconds" in str(caught.value)
    assert "must be at least 30, got 5" in str(caught.value)


def test_problems_can_be_placed_under_a_batch_index() -> None:
    with pytest.raises(AlertRejected) as caught:
        Alert.from_json_obj({"header": "h", "link": "nope"})
    assert caught.value.prefixed("alerts.3").problems == [
        {"field": "alerts.3.link", "message": "must be an absolute http:// or https:// URL"}
    ]
