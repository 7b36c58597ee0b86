"""Webhooks: buttons on an issue's Slack message that call out to another system.

They are the largest nested part of the alert contract (a confirmation dialog with text and
checkbox inputs, a payload, who may press them and when they show), and nothing but the alert
uses them, so they sit apart from the alert's own fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema, model_validator

from domain.alert_limits import (
    MAX_WEBHOOK_BUTTON_TEXT_LENGTH,
    MAX_WEBHOOK_CHECKBOX_INPUT_COUNT,
    MAX_WEBHOOK_CHECKBOX_OPTION_COUNT,
    MAX_WEBHOOK_CHECKBOX_OPTION_TEXT_LENGTH,
    MAX_WEBHOOK_CHECKBOX_OPTION_VALUE_LENGTH,
    MAX_WEBHOOK_CONFIRMATION_TEXT_LENGTH,
    MAX_WEBHOOK_ID_LENGTH,
    MAX_WEBHOOK_INPUT_DESCRIPTION_LENGTH,
    MAX_WEBHOOK_INPUT_ID_LENGTH,
    MAX_WEBHOOK_INPUT_LABEL_LENGTH,
    MAX_WEBHOOK_INPUT_TEXT_LENGTH,
    MAX_WEBHOOK_PAYLOAD_COUNT,
    MAX_WEBHOOK_PAYLOAD_JSON_BYTES,
    MAX_WEBHOOK_PLAIN_TEXT_INPUT_COUNT,
    MAX_WEBHOOK_URL_LENGTH,
)
from domain.alert_shape import SlackManagerShape
from domain.alert_text import is_http_url, json_type_name, quoted
from domain.alert_validators import (
    JSON_ARRAY,
    choice,
    int_range,
    invalid,
    json_object,
    max_chars,
    max_items,
    non_empty,
)


class WebhookButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


class WebhookAccessLevel(StrEnum):
    GLOBAL_ADMINS = "global_admins"
    CHANNEL_ADMINS = "channel_admins"
    CHANNEL_MEMBERS = "channel_members"


class WebhookDisplayMode(StrEnum):
    ALWAYS = "always"
    OPEN_ISSUE = "open_issue"
    RESOLVED_ISSUE = "resolved_issue"


class WebhookPlainTextInput(SlackManagerShape):
    """A text box in the webhook's confirmation dialog; its value is posted under `id`."""

    id: Annotated[str, AfterValidator(non_empty), max_chars(MAX_WEBHOOK_INPUT_ID_LENGTH)]
    description: Annotated[str, max_chars(MAX_WEBHOOK_INPUT_DESCRIPTION_LENGTH)] = ""
    min_length: Annotated[int, int_range(0, MAX_WEBHOOK_INPUT_TEXT_LENGTH)] = 0
    max_length: Annotated[int, int_range(0, MAX_WEBHOOK_INPUT_TEXT_LENGTH)] = 0
    multiline: bool = False
    initial_value: str = ""

    @model_validator(mode="after")
    def _check_lengths(self) -> Self:
        # 0 means "no maximum": Slack Manager's dialog only sets a maximum when it is positive.
        if self.max_length > 0 and self.max_length < self.min_length:
            raise invalid(
                "max_below_min",
                f"must not be smaller than minLength ({self.min_length}), got {self.max_length}",
                at="maxLength",
            )
        if self.max_length > 0 and len(self.initial_value) > self.max_length:
            raise invalid(
                "initial_value_too_long",
                f"must be at most maxLength ({self.max_length}) characters long, "
                f"got {len(self.initial_value)}",
                at="initialValue",
            )
        return self


class WebhookCheckboxOption(SlackManagerShape):
    value: Annotated[
        str, AfterValidator(non_empty), max_chars(MAX_WEBHOOK_CHECKBOX_OPTION_VALUE_LENGTH)
    ]
    text: Annotated[str, max_chars(MAX_WEBHOOK_CHECKBOX_OPTION_TEXT_LENGTH)] = ""
    selected: bool = False


class WebhookCheckboxInput(SlackManagerShape):
    """A group of checkboxes in the webhook's dialog; selected values are posted under `id`."""

    id: Annotated[str, AfterValidator(non_empty), max_chars(MAX_WEBHOOK_INPUT_ID_LENGTH)]
    label: Annotated[str, max_chars(MAX_WEBHOOK_INPUT_LABEL_LENGTH)] = ""
    options: Annotated[
        tuple[WebhookCheckboxOption, ...], JSON_ARRAY, max_items(MAX_WEBHOOK_CHECKBOX_OPTION_COUNT)
    ] = ()

    @model_validator(mode="after")
    def _check_unique_values(self) -> Self:
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            if option.value in seen:
                raise invalid(
                    "duplicate_value",
                    f"{quoted(option.value)} is used by an earlier option; "
                    "option values must be unique",
                    at=f"options.{index}.value",
                )
            seen.add(option.value)
        return self


# A value sealed with AES-256-GCM (Slack Manager's format): `{"__encrypted_data":
# base64(nonce ‖ ciphertext)}`. The API seals every webhook's url and payload before the alert
# is stored, so the log, the views and Slack carry only ciphertext; only a click opens it.
SEALED_KEY = "__encrypted_data"
# A sealed 2 KB payload is about 2,800 base64 characters; this leaves room, and a bound.
MAX_SEALED_LENGTH = 4096
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def is_sealed(value: object) -> bool:
    """Whether `value` has the sealed shape (the domain cannot open it: it holds no key)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED_KEY), str)


def _sealed(value: dict[str, Any]) -> dict[str, str]:
    data = str(value[SEALED_KEY])
    if not 0 < len(data) <= MAX_SEALED_LENGTH or not _BASE64.match(data):
        raise invalid(
            "sealed_invalid",
            f"{SEALED_KEY} must be base64 of at most {MAX_SEALED_LENGTH} characters",
        )
    return {SEALED_KEY: data}


def _url_or_sealed(value: object) -> str | dict[str, str]:
    if is_sealed(value):
        return _sealed(value)  # type: ignore[arg-type]
    if not isinstance(value, str):
        raise invalid(
            "string_expected",
            f"must be a URL or a sealed value {{{quoted(SEALED_KEY)}: …}}, "
            f"got {json_type_name(value)}",
        )
    url = non_empty(value.strip())
    if len(url) > MAX_WEBHOOK_URL_LENGTH:
        raise invalid(
            "string_too_long",
            f"must be at most {MAX_WEBHOOK_URL_LENGTH} characters long, got {len(url)}",
        )
    return _webhook_url(url)


_SEALED_SCHEMA = {
    "type": "object",
    "properties": {SEALED_KEY: {"type": "string"}},
    "required": [SEALED_KEY],
    "additionalProperties": False,
}


def _webhook_url(value: str) -> str:
    if value.lower().startswith("http"):
        if not is_http_url(value):
            raise invalid("url_invalid", "must be an absolute http:// or https:// URL")
    elif not all(" " <= ch <= "~" for ch in value):
        raise invalid(
            "url_invalid",
            "must be an http(s) URL or a handler name of printable ASCII characters",
        )
    return value


def _payload(value: dict[str, Any]) -> dict[str, Any]:
    if is_sealed(value):
        return _sealed(value)
    if len(value) > MAX_WEBHOOK_PAYLOAD_COUNT:
        raise invalid(
            "too_many_items",
            f"must have at most {MAX_WEBHOOK_PAYLOAD_COUNT} keys, got {len(value)}",
        )
    try:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise invalid("payload_invalid", "must be JSON-serialisable") from None
    if size > MAX_WEBHOOK_PAYLOAD_JSON_BYTES:
        raise invalid(
            "payload_too_large",
            f"must serialise to at most {MAX_WEBHOOK_PAYLOAD_JSON_BYTES} bytes of JSON, got {size}",
        )
    return value


class Webhook(SlackManagerShape):
    """A button on the issue's Slack message that posts to `url` when clicked."""

    id: Annotated[str, AfterValidator(non_empty), max_chars(MAX_WEBHOOK_ID_LENGTH)]
    # A URL (or a handler name) as sent, or sealed; the API seals it before storing.
    url: Annotated[
        str | dict[str, str],
        PlainValidator(_url_or_sealed),
        WithJsonSchema({"anyOf": [{"type": "string"}, _SEALED_SCHEMA]}),
    ]
    button_text: Annotated[
        str, AfterValidator(non_empty), max_chars(MAX_WEBHOOK_BUTTON_TEXT_LENGTH)
    ]
    confirmation_text: Annotated[str, max_chars(MAX_WEBHOOK_CONFIRMATION_TEXT_LENGTH)] = ""
    skip_confirmation_dialog: bool = False
    button_style: Annotated[
        WebhookButtonStyle, choice(WebhookButtonStyle, WebhookButtonStyle.DEFAULT)
    ] = WebhookButtonStyle.DEFAULT
    access_level: Annotated[
        WebhookAccessLevel, choice(WebhookAccessLevel, WebhookAccessLevel.GLOBAL_ADMINS)
    ] = WebhookAccessLevel.GLOBAL_ADMINS
    display_mode: Annotated[
        WebhookDisplayMode, choice(WebhookDisplayMode, WebhookDisplayMode.OPEN_ISSUE)
    ] = WebhookDisplayMode.OPEN_ISSUE
    payload: Annotated[dict[str, Any], PlainValidator(json_object), AfterValidator(_payload)] = (
        Field(default_factory=dict)
    )
    plain_text_input: Annotated[
        tuple[WebhookPlainTextInput, ...], JSON_ARRAY, max_items(MAX_WEBHOOK_PLAIN_TEXT_INPUT_COUNT)
    ] = ()
    checkbox_input: Annotated[
        tuple[WebhookCheckboxInput, ...], JSON_ARRAY, max_items(MAX_WEBHOOK_CHECKBOX_INPUT_COUNT)
    ] = ()

    @model_validator(mode="after")
    def _check_unique_input_ids(self) -> Self:
        seen: set[str] = set()
        inputs: Iterable[tuple[str, int, str]] = [
            *(("plainTextInput", i, x.id) for i, x in enumerate(self.plain_text_input)),
            *(("checkboxInput", i, x.id) for i, x in enumerate(self.checkbox_input)),
        ]
        for group, index, input_id in inputs:
            if input_id in seen:
                raise invalid(
                    "duplicate_id",
                    f"{quoted(input_id)} is used by an earlier input; input ids must be unique "
                    "across plainTextInput and checkboxInput",
                    at=f"{group}.{index}.id",
                )
            seen.add(input_id)
        return self

    @property
    def sealed(self) -> bool:
        """Url and payload (when there is one) are ciphertext: nothing readable to leak."""
        return is_sealed(self.url) and (not self.payload or is_sealed(self.payload))
