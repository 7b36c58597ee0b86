"""Channel targets: validated once, and their secrets never show."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateways.notify.targets import (
    EmailTarget,
    NtfyTarget,
    PagerDutyTarget,
    WebhookTarget,
    parse_target,
)

ROUTING_KEY = "R" * 32


def test_each_kind_parses_from_json_by_its_kind() -> None:
    assert isinstance(parse_target('{"kind": "ntfy", "topic": "ops_alerts-1"}'), NtfyTarget)
    assert isinstance(
        parse_target({"kind": "pagerduty", "routing_key": ROUTING_KEY}), PagerDutyTarget
    )
    email = parse_target(
        {
            "kind": "email",
            "host": "smtp.example.com",
            "port": 465,
            "security": "tls",
            "sender": "alertfold@example.com",
            "recipients": ["ops@example.com"],
        }
    )
    assert isinstance(email, EmailTarget)
    assert email.recipients == ("ops@example.com",)


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "ntfy", "topic": "has space"},
        {"kind": "ntfy", "topic": "x" * 65},
        {"kind": "ntfy", "topic": "ok", "server": "ftp://ntfy.example"},
        {"kind": "webhook", "url": "/relative"},
        {"kind": "webhook", "url": "https://h.example", "header_name": "X-Key"},
        {"kind": "webhook", "url": "https://h.example", "header_name": "Bad Name",
         "header_value": "v"},
        {"kind": "webhook", "url": "https://h.example", "header_name": "Authorization",
         "header_value": "v"},
        {"kind": "webhook", "url": "https://h.example", "surprise": 1},
        {"kind": "email", "host": "smtp", "sender": "a@b", "recipients": []},
        {"kind": "email", "host": "smtp", "sender": "a@b\r\nBcc: x@y", "recipients": ["c@d"]},
        {"kind": "pagerduty", "routing_key": "too-short"},
        {"kind": "carrier-pigeon"},
    ],
)  # fmt: skip
def test_invalid_targets_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_target(data)


def test_secrets_never_show_in_reprs_or_validation_errors() -> None:
    target = WebhookTarget(
        url="https://hooks.example/services/T0/B0/url-token",
        bearer_token="bearer-secret",  # type: ignore[arg-type]
        header_name="X-Api-Key",
        header_value="header-secret",  # type: ignore[arg-type]
        signing_secret="signing-secret",  # type: ignore[arg-type]
    )
    shown = repr(target) + str(target)
    for secret in ("bearer-secret", "header-secret", "signing-secret", "url-token"):
        assert secret not in shown
    assert "hooks.example" in shown
    with pytest.raises(ValidationError) as refused:
        parse_target({"kind": "pagerduty", "routing_key": "short-secret-key"})
    assert "short-secret-key" not in str(refused.value)


def test_targets_are_immutable() -> None:
    target = NtfyTarget(topic="ops")
    with pytest.raises(ValidationError):
        target.topic = "other"
    assert target.server == "https://ntfy.sh"
