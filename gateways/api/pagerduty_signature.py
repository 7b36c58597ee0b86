"""PagerDuty's webhook signature (v3): who may tell alertfold that an incident changed.

PagerDuty signs the raw body with each subscription's secret and sends
`X-PagerDuty-Signature: v1=<hex HMAC-SHA256>`, several comma-separated `v1=` values while a
secret is being rotated. A request is genuine when any of its signatures matches any
configured secret, so the old and the new secret both work during the rotation. Digests are
compared in constant time, so timing reveals nothing about a valid signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SCHEME = "v1="


class BadSignature(Exception):
    """The request is not signed by a configured secret; the message says how it failed."""


def verify_signature(body: bytes, header: str | None, secrets: Iterable[str]) -> None:
    """Return when `header` holds a signature of `body` by one of `secrets`, else raise."""
    if not header or not header.strip():
        raise BadSignature("missing X-PagerDuty-Signature header")
    offered = [part.strip() for part in header.split(",") if part.strip()]
    digests = [part.removeprefix(SCHEME) for part in offered if part.startswith(SCHEME)]
    if not digests:
        raise BadSignature(
            "X-PagerDuty-Signature has no v1= signature (expected v1=<hex HMAC-SHA256>)"
        )
    expected = [
        hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode() for secret in secrets
    ]
    matched = False
    for digest in digests:
        for wanted in expected:
            # Every pair is compared, so the time taken does not say which one matched.
            matched |= hmac.compare_digest(digest.lower().encode(), wanted)
    if not matched:
        raise BadSignature("X-PagerDuty-Signature matches none of the configured secrets")


def sign(body: bytes, secret: str) -> str:
    """The header value PagerDuty would send for `body` (tests and tools sign with it)."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
