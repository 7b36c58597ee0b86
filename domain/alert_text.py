"""The text rules an alert is cleaned by, shared by the alert model and the Alertmanager mapping.

They live apart from the models so both readers of alerts apply the very same rules: an alert
posted as JSON and one mapped from an Alertmanager webhook are cut, hashed and dated alike,
which keeps their Slack messages and correlation ids consistent.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from domain.alert_limits import MAX_TEXT_LENGTH

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)
_CODE_FENCE = "```"
# Characters Slack reads as the edges and the label separator of a link; in a URL they are
# written %7C, %3C and %3E.
SLACK_LINK_SYNTAX = {"|": "%7C", "<": "%3C", ">": "%3E"}


# -- cutting -----------------------------------------------------------------------------------


def truncate(value: str, limit: int) -> str:
    """Cut to `limit` characters, ending in "..." (Slack Manager trims the kept part first)."""
    if len(value) <= limit:
        return value
    return value[: limit - 3].strip() + "..."


def shorten_text(value: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Like `truncate`, but a closing code fence survives so Slack still renders the block."""
    if len(value) <= limit:
        return value
    if value.endswith(_CODE_FENCE):
        return value[: limit - 6].strip() + "..." + _CODE_FENCE
    return value[: limit - 3].strip() + "..."


def one_line(value: str) -> str:
    return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


# -- grouping keys -----------------------------------------------------------------------------


def slack_manager_hash(*parts: str) -> str:
    """Slack Manager's `internal.Hash`: sha256 of the concatenated parts, base64url (padded).

    Keeping the exact encoding keeps default correlation ids identical to the ones Slack
    Manager derived, so issues keep grouping the same way after a migration.
    """
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def default_correlation_id(header: str, author: str, host: str, text: str, channel: str) -> str:
    """Slack Manager's default grouping key: equal content in one channel is one issue."""
    return slack_manager_hash(header, author, host, text, channel)


# -- reading values ----------------------------------------------------------------------------


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time (nanoseconds allowed, cut to microseconds) into aware UTC.

    Raises ValueError with a human message when `value` is not one.
    """
    match = _RFC3339.match(value.strip())
    if match is None:
        raise ValueError(
            f"{quoted(value)} is not an RFC 3339 date-time; expected e.g. 2024-05-01T12:00:00Z"
        )
    if match["offset"] is None:
        raise ValueError(
            f"{quoted(value)} has no time zone offset; RFC 3339 needs Z or ±hh:mm at the end"
        )
    fraction = (match["fraction"] or "")[:7]
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{fraction}{offset}")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{quoted(value)} is not a valid date-time: {exc}") from None


def is_http_url(value: str) -> bool:
    """Whether Slack can link to `value`: an absolute http(s) URL with a host, no spaces."""
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def slack_link_syntax(value: str) -> str | None:
    """The first character of `value` that Slack reads as link syntax (`<url|label>`), if any.

    A link holding one would end early or carry a label of the sender's choosing: shown as
    one address while opening another.
    """
    return next((ch for ch in value if ch in SLACK_LINK_SYNTAX), None)


def is_slack_link(value: str) -> bool:
    """Whether `value` can be put in a Slack link as it is (`<value|label>`)."""
    return is_http_url(value) and slack_link_syntax(value) is None


# -- describing values in error messages -------------------------------------------------------


def quoted(value: object) -> str:
    """A client's value quoted for an error message, cut short so messages stay readable."""
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    return f"{type(value).__name__} {value!r}"[:70]


def json_type_name(value: object) -> str:
    """How a decoded JSON value is called in JSON's own terms, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
