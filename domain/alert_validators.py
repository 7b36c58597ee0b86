"""Field validators for the alert models, written for `Annotated[...]` field declarations.

Each raises a `PydanticCustomError` whose message is already the sentence a client reads (the
limit and the value it sent), and may name where below the field the problem is (`at`), so
`problems_from` can turn pydantic's errors into camelCase field paths without rewording them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from domain.alert_limits import (
    ICON_EMOJI,
    MAX_FALLBACK_TEXT_LENGTH,
    MAX_HEADER_LENGTH,
    MAX_ICON_EMOJI_LENGTH,
    MAX_SLACK_CHANNEL_ID_LENGTH,
    SLACK_CHANNEL_ID_OR_NAME,
)
from domain.alert_text import (
    SLACK_LINK_SYNTAX,
    is_http_url,
    json_type_name,
    one_line,
    parse_rfc3339,
    quoted,
    shorten_text,
    slack_link_syntax,
    truncate,
)
from domain.severity import SEVERITY_ALIASES, Severity

_ESCALATION_SEVERITIES = (Severity.PANIC, Severity.ERROR, Severity.WARNING)


def invalid(kind: str, message: str, at: str = "") -> PydanticCustomError:
    """A validation error with a finished message; `at` locates it below the validated value."""
    return PydanticCustomError(kind, message, {"at": at} if at else None)


def max_chars(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit:
            raise invalid(
                "string_too_long",
                f"must be at most {limit} characters long, got {len(value)}",
            )
        return value

    return AfterValidator(check)


def max_items(limit: int) -> AfterValidator:
    def check(value: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(value) > limit:
            raise invalid("too_many_items", f"must have at most {limit} items, got {len(value)}")
        return value

    return AfterValidator(check)


def truncated(limit: int) -> AfterValidator:
    def apply(value: str) -> str:
        return truncate(value, limit)

    return AfterValidator(apply)


def non_empty(value: str) -> str:
    if not value:
        raise invalid("missing", "is required and may not be empty")
    return value


def channel_id_or_name(value: str) -> str:
    value = value.upper()
    if value and not SLACK_CHANNEL_ID_OR_NAME.match(value):
        raise invalid(
            "channel_invalid",
            f"{quoted(value)} is not a Slack channel id or name: expected 1 to "
            f"{MAX_SLACK_CHANNEL_ID_LENGTH} letters, digits, '-' or '_'",
        )
    return value


def not_negative(value: int) -> int:
    return max(value, 0)


def min_int(limit: int) -> AfterValidator:
    def check(value: int) -> int:
        if value < limit:
            raise invalid("too_small", f"must be at least {limit}, got {value}")
        return value

    return AfterValidator(check)


def int_range(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise invalid("out_of_range", f"must be between {low} and {high}, got {value}")
        return value

    return AfterValidator(check)


# -- values with their own reading rules -------------------------------------------------------


def rfc3339_timestamp(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise invalid("timestamp_invalid", "must carry a time zone offset")
        return value.astimezone(UTC)
    if isinstance(value, str):
        try:
            return parse_rfc3339(value)
        except ValueError as exc:
            raise invalid("timestamp_invalid", str(exc)) from None
    raise invalid(
        "timestamp_invalid", "must be an RFC 3339 date-time string, e.g. 2024-05-01T12:00:00Z"
    )


def read_severity(value: object) -> object:
    if isinstance(value, Severity):
        return value
    if isinstance(value, str):
        found = SEVERITY_ALIASES.get(value.strip().lower())
        if found is not None:
            return found
    allowed = ", ".join(s.value for s in Severity)
    raise invalid(
        "severity_invalid",
        f"{quoted(value)} is not a valid severity; expected one of {allowed} "
        "(critical is read as error; resolve, recover and recovered as resolved)",
    )


def read_escalation_severity(value: object) -> object:
    allowed = ", ".join(s.value for s in _ESCALATION_SEVERITIES)
    if isinstance(value, str) and value.strip():
        found = SEVERITY_ALIASES.get(value.strip().lower())
        if found in _ESCALATION_SEVERITIES:
            return found
    raise invalid(
        "severity_invalid",
        f"{quoted(value)} is not a valid escalation severity; expected one of {allowed}",
    )


def lower_case(value: str) -> str:
    return value.lower()


def clean_icon_emoji(value: str) -> str:
    value = value.lower()
    if value and not ICON_EMOJI.match(value):
        raise invalid(
            "icon_emoji_invalid",
            f"{quoted(value)} is not an emoji in the form :name: "
            f"(name 1 to {MAX_ICON_EMOJI_LENGTH} characters, no colons)",
        )
    return value


def http_link(value: str) -> str:
    if value and not is_http_url(value):
        raise invalid("link_invalid", "must be an absolute http:// or https:// URL")
    syntax = slack_link_syntax(value)
    if syntax is not None:
        raise invalid(
            "link_invalid",
            f"must not contain {syntax!r}: Slack reads '|', '<' and '>' in a link as link "
            f"syntax; write it as {SLACK_LINK_SYNTAX[syntax]}",
        )
    return value


def clean_header(value: str) -> str:
    return truncate(one_line(value).strip(), MAX_HEADER_LENGTH)


def clean_text(value: str) -> str:
    return shorten_text(value)


def clean_fallback_text(value: str) -> str:
    value = one_line(value.replace(":status:", "").strip())
    return truncate(value, MAX_FALLBACK_TEXT_LENGTH)


def choice(enum: type[StrEnum], default: StrEnum) -> BeforeValidator:
    """Case-insensitive enum reading where empty means `default` (Slack Manager's rule)."""

    def read(value: object) -> object:
        if value is None:
            return default
        if isinstance(value, str):
            key = value.strip().lower()
            if not key:
                return default
            for member in enum:
                if member.value == key:
                    return member
        allowed = ", ".join(m.value for m in enum)
        raise invalid(
            "choice_invalid", f"{quoted(value)} is not valid; expected empty or one of {allowed}"
        )

    return BeforeValidator(read)


# -- JSON shapes -------------------------------------------------------------------------------


def _json_array(value: object) -> object:
    if not isinstance(value, list | tuple):
        raise invalid("array_expected", f"must be a JSON array, got {json_type_name(value)}")
    return value


JSON_ARRAY = BeforeValidator(_json_array)


def json_object(value: object) -> dict[str, Any]:
    """Free-form objects are kept exactly as sent (no trimming of keys or values)."""
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise invalid("object_expected", f"must be a JSON object, got {json_type_name(value)}")
    return dict(value)
