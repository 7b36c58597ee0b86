"""Webhook buttons on alerts: Slack Manager's shape, defaults and limits."""

from __future__ import annotations

from typing import Any

import pytest

from domain.alert import (
    Alert,
    Webhook,
    WebhookAccessLevel,
    WebhookButtonStyle,
    WebhookDisplayMode,
)
from domain.errors import AlertRejected


def hook(**fields: Any) -> dict[str, Any]:
    return {
        "id": "restart",
        "url": "https://ops.example.com/restart",
        "buttonText": "Restart",
        **fields,
    }


def read_hook(**fields: Any) -> Webhook:
    return Alert.from_json_obj({"header": "h", "webhooks": [hook(**fields)]}).webhooks[0]


def problems_of(*hooks: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(AlertRejected) as caught:
        Alert.from_json_obj({"header": "h", "webhooks": list(hooks)})
    return caught.value.problems


def only_problem(*hooks: dict[str, Any]) -> dict[str, str]:
    found = problems_of(*hooks)
    assert len(found) == 1, found
    return found[0]


def test_a_webhook_with_id_url_and_button_text_is_accepted() -> None:
    webhook = read_hook()
    assert (webhook.id, webhook.url, webhook.button_text) == (
        "restart",
        "https://ops.example.com/restart",
        "Restart",
    )


def test_empty_access_level_means_global_admins() -> None:
    assert read_hook(accessLevel="").access_level is WebhookAccessLevel.GLOBAL_ADMINS


def test_empty_display_mode_means_open_issue() -> None:
    assert read_hook().display_mode is WebhookDisplayMode.OPEN_ISSUE


def test_empty_button_style_means_default() -> None:
    assert read_hook(buttonStyle="").button_style is WebhookButtonStyle.DEFAULT


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("buttonStyle", "primary"),
        ("buttonStyle", "danger"),
        ("accessLevel", "channel_admins"),
        ("accessLevel", "channel_members"),
        ("displayMode", "always"),
        ("displayMode", "resolved_issue"),
    ],
)
def test_documented_choices_are_accepted(key: str, value: str) -> None:
    assert read_hook(**{key: value}).model_dump(mode="json")[key] == value


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("buttonStyle", "default, primary, danger"),
        ("accessLevel", "global_admins, channel_admins, channel_members"),
        ("displayMode", "always, open_issue, resolved_issue"),
    ],
)
def test_unknown_choice_is_rejected_listing_the_allowed_values(key: str, allowed: str) -> None:
    assert only_problem(hook(**{key: "loud"})) == {
        "field": f"webhooks.0.{key}",
        "message": f"'loud' is not valid; expected empty or one of {allowed}",
    }


@pytest.mark.parametrize("key", ["id", "url", "buttonText"])
def test_id_url_and_button_text_are_required(key: str) -> None:
    assert only_problem(hook(**{key: " "})) == {
        "field": f"webhooks.0.{key}",
        "message": "is required and may not be empty",
    }


def test_more_than_5_webhooks_are_rejected() -> None:
    assert only_problem(*(hook(id=str(i)) for i in range(6))) == {
        "field": "webhooks",
        "message": "must have at most 5 items, got 6",
    }


def test_webhook_ids_must_be_unique() -> None:
    assert only_problem(hook(), hook()) == {
        "field": "webhooks.1.id",
        "message": "'restart' is used by an earlier webhook; webhook ids must be unique",
    }


def test_webhook_id_longer_than_100_characters_is_rejected() -> None:
    assert only_problem(hook(id="i" * 101))["field"] == "webhooks.0.id"


def test_webhook_url_longer_than_1000_characters_is_rejected() -> None:
    found = only_problem(hook(url="https://x.io/" + "p" * 1000))
    assert found == {
        "field": "webhooks.0.url",
        "message": "must be at most 1000 characters long, got 1013",
    }


def test_button_text_longer_than_25_characters_is_rejected() -> None:
    assert only_problem(hook(buttonText="b" * 26)) == {
        "field": "webhooks.0.buttonText",
        "message": "must be at most 25 characters long, got 26",
    }


def test_confirmation_text_longer_than_1000_characters_is_rejected() -> None:
    assert only_problem(hook(confirmationText="c" * 1001))["field"] == (
        "webhooks.0.confirmationText"
    )


def test_url_starting_with_http_must_be_an_absolute_url() -> None:
    assert only_problem(hook(url="http//broken")) == {
        "field": "webhooks.0.url",
        "message": "must be an absolute http:// or https:// URL",
    }


def test_url_naming_a_custom_handler_is_accepted() -> None:
    assert read_hook(url="restart-service").url == "restart-service"


def test_custom_handler_name_with_non_ascii_characters_is_rejected() -> None:
    assert only_problem(hook(url="redémarrer"))["field"] == "webhooks.0.url"


def test_payload_is_kept_as_sent() -> None:
    assert read_hook(payload={" a ": [1, {"b": None}]}).payload == {" a ": [1, {"b": None}]}


def test_payload_with_more_than_50_keys_is_rejected() -> None:
    assert only_problem(hook(payload={str(i): i for i in range(51)})) == {
        "field": "webhooks.0.payload",
        "message": "must have at most 50 keys, got 51",
    }


def test_payload_larger_than_2048_bytes_of_json_is_rejected() -> None:
    found = only_problem(hook(payload={"blob": "x" * 2100}))
    assert found["field"] == "webhooks.0.payload"
    assert found["message"].startswith("must serialise to at most 2048 bytes of JSON")


def test_more_than_10_plain_text_inputs_are_rejected() -> None:
    inputs = [{"id": f"i{n}"} for n in range(11)]
    assert only_problem(hook(plainTextInput=inputs))["field"] == "webhooks.0.plainTextInput"


def test_plain_text_input_max_length_below_min_length_is_rejected() -> None:
    found = only_problem(hook(plainTextInput=[{"id": "reason", "minLength": 10, "maxLength": 5}]))
    assert found == {
        "field": "webhooks.0.plainTextInput.0.maxLength",
        "message": "must not be smaller than minLength (10), got 5",
    }


def test_plain_text_input_max_length_zero_means_no_maximum() -> None:
    webhook = read_hook(plainTextInput=[{"id": "reason", "minLength": 10, "initialValue": "abc"}])
    assert webhook.plain_text_input[0].initial_value == "abc"


def test_plain_text_input_initial_value_longer_than_max_length_is_rejected() -> None:
    found = only_problem(
        hook(plainTextInput=[{"id": "reason", "maxLength": 3, "initialValue": "abcd"}])
    )
    assert found["field"] == "webhooks.0.plainTextInput.0.initialValue"


def test_plain_text_input_length_above_3000_is_rejected() -> None:
    found = only_problem(hook(plainTextInput=[{"id": "reason", "maxLength": 3001}]))
    assert found == {
        "field": "webhooks.0.plainTextInput.0.maxLength",
        "message": "must be between 0 and 3000, got 3001",
    }


def test_input_ids_must_be_unique_across_text_and_checkbox_inputs() -> None:
    found = only_problem(hook(plainTextInput=[{"id": "x"}], checkboxInput=[{"id": "x"}]))
    assert found["field"] == "webhooks.0.checkboxInput.0.id"


def test_checkbox_with_more_than_5_options_is_rejected() -> None:
    options = [{"value": str(n)} for n in range(6)]
    found = only_problem(hook(checkboxInput=[{"id": "c", "options": options}]))
    assert found["field"] == "webhooks.0.checkboxInput.0.options"


def test_checkbox_option_values_must_be_unique() -> None:
    options = [{"value": "a"}, {"value": "a"}]
    found = only_problem(hook(checkboxInput=[{"id": "c", "options": options}]))
    assert found["field"] == "webhooks.0.checkboxInput.0.options.1.value"


def test_checkbox_option_text_longer_than_50_characters_is_rejected() -> None:
    options = [{"value": "a", "text": "t" * 51}]
    found = only_problem(hook(checkboxInput=[{"id": "c", "options": options}]))
    assert found["field"] == "webhooks.0.checkboxInput.0.options.0.text"


def test_skip_confirmation_dialog_is_read() -> None:
    assert read_hook(skipConfirmationDialog=True).skip_confirmation_dialog is True
