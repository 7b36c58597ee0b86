"""Where a notification channel delivers: one validated, immutable model per kind.

The channel store keeps these as JSON and the API accepts them, so validation happens here,
once, with messages a person can act on. Secrets are `SecretStr` so a logged or printed
target shows `**********`; webhook URLs often carry a token in their path or query, so a
target's repr shows only the URL's scheme and host (the full URL stays in `model_dump`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)

# RFC 9110 token characters: what an HTTP header name may contain.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Headers the webhook sender sets itself; a custom header must not override them.
_RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "content-length",
        "host",
        "x-alertfold-delivery",
        "x-alertfold-signature",
    }
)
# A deliberately loose address check: the SMTP server has the last word, but CR/LF (header
# injection) and obviously wrong values are refused before anything is stored.
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
NTFY_SERVER = "https://ntfy.sh"


def http_url(value: str) -> str:
    """An absolute http(s) URL with a host; returned unchanged so signatures stay stable."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    return value


HttpUrlText = Annotated[str, AfterValidator(http_url)]


def url_host(url: str) -> str:
    """Scheme and host of a URL, for messages that must not leak a path or query token."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


class _Target(BaseModel):
    # Errors must not echo what was sent: it may be a secret.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class WebhookTarget(_Target):
    kind: Literal["webhook"] = "webhook"
    url: HttpUrlText
    bearer_token: SecretStr | None = None
    header_name: str | None = None
    header_value: SecretStr | None = None
    signing_secret: SecretStr | None = None

    @field_validator("header_name")
    @classmethod
    def _check_header_name(cls, name: str | None) -> str | None:
        if name is None:
            return None
        if not _HEADER_NAME.match(name):
            raise ValueError("must be an HTTP header name (letters, digits, '-', no spaces)")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{name} is set by alertfold itself")
        return name

    @model_validator(mode="after")
    def _check_custom_header(self) -> WebhookTarget:
        if (self.header_name is None) != (self.header_value is None):
            raise ValueError("header_name and header_value go together")
        if self.header_value is not None and any(
            c in self.header_value.get_secret_value() for c in "\r\n"
        ):
            raise ValueError("header_value must be one line")
        return self

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, url_host(value) + "/…" if name == "url" else value


class NtfyTarget(_Target):
    kind: Literal["ntfy"] = "ntfy"
    server: HttpUrlText = NTFY_SERVER
    topic: Annotated[str, Field(pattern=r"^[-_A-Za-z0-9]{1,64}$")]
    token: SecretStr | None = None


class EmailTarget(_Target):
    kind: Literal["email"] = "email"
    host: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[^\s/:@]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    recipients: Annotated[tuple[str, ...], Field(min_length=1, max_length=100)]

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, address: str) -> str:
        return _address(address)

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, addresses: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_address(a) for a in addresses)


class PagerDutyTarget(_Target):
    kind: Literal["pagerduty"] = "pagerduty"
    routing_key: SecretStr
    events_url: HttpUrlText = PAGERDUTY_EVENTS_URL

    @field_validator("routing_key")
    @classmethod
    def _check_routing_key(cls, key: SecretStr) -> SecretStr:
        # The error must not echo the key: pydantic would print the input otherwise.
        if len(key.get_secret_value()) != 32:
            raise ValueError("must be the 32-character integration key of an Events API v2 service")
        return key


def _address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise ValueError(f"{address!r} is not an e-mail address")
    return address


Target = Annotated[
    WebhookTarget | NtfyTarget | EmailTarget | PagerDutyTarget, Field(discriminator="kind")
]

# Validates any kind from JSON or a dict. Its errors never quote the input; a model that
# embeds `Target` should set `hide_input_in_errors=True` too, or its errors will.
TARGETS: TypeAdapter[Target] = TypeAdapter(Target, config=ConfigDict(hide_input_in_errors=True))


def parse_target(data: dict[str, Any] | str | bytes) -> Target:
    """A target from a dict or JSON text; raises pydantic's ValidationError."""
    if isinstance(data, dict):
        return TARGETS.validate_python(data)
    return TARGETS.validate_json(data)
