"""Slack's request signature (HTTP mode): is this request from Slack, and fresh?

Slack signs `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret and
sends `X-Slack-Signature: v0=<hex HMAC-SHA256>`. A request older or newer than five minutes
is refused even when signed, so a captured request cannot be replayed later. slack_sdk's
`SignatureVerifier` computes and compares the signature (in constant time); this module says
precisely which check failed, since a wrong secret and a skewed clock need different fixes.
"""

from __future__ import annotations

from slack_sdk.signature import Clock, SignatureVerifier

WINDOW_SECONDS = 5 * 60


class BadSlackSignature(Exception):
    """The request is not Slack's, or too old; the message says which check failed."""


class _At(Clock):
    """slack_sdk's clock interface, set to the time the request is judged at."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_slack_request(
    body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float
) -> None:
    """Return when Slack signed `body` within five minutes of `now`, else raise."""
    if not timestamp:
        raise BadSlackSignature("missing X-Slack-Request-Timestamp header")
    if not signature:
        raise BadSlackSignature("missing X-Slack-Signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise BadSlackSignature(
            "X-Slack-Request-Timestamp must be whole seconds since the epoch"
        ) from None
    if abs(now - sent) > WINDOW_SECONDS:
        raise BadSlackSignature(
            f"X-Slack-Request-Timestamp is {abs(now - sent):.0f} s away from this server's "
            f"clock; Slack requests are accepted within {WINDOW_SECONDS} s"
        )
    verifier = SignatureVerifier(secret, clock=_At(now))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (UnicodeDecodeError, TypeError):  # not UTF-8, or a non-ASCII signature
        valid = False
    if not valid:
        raise BadSlackSignature("X-Slack-Signature does not match the signing secret")


def sign_slack_request(body: bytes, timestamp: int, secret: str) -> str:
    """The `X-Slack-Signature` Slack would send (tests and tools sign with it)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    return str(signature)
