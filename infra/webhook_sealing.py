"""Sealing webhook URLs and payloads with AES-256-GCM, in Slack Manager's format.

An alert's webhook names where to call and what to send, often with a token in either. The
API seals both before the alert reaches Kafka, so the log, the issue events, the views, the
logs and Slack only ever hold `{"__encrypted_data": base64(nonce ‖ ciphertext)}`; the Slack
interactions part opens them when someone presses the button. GCM authenticates as well as
encrypts, so a value altered anywhere on the way does not open at all.

The key is Slack Manager's: 32 ASCII letters and digits, used as the raw 256-bit key, so
values sealed by either system open in the other. Keys rotate: the sealer holds the current
key, which seals, and older ones, which still open what was sealed before, so the buttons of
messages posted before a rotation keep working.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.alert import Alert
from domain.alert_webhooks import SEALED_KEY, Webhook, is_sealed

NONCE_BYTES = 12
KEY_VARIABLE = "ALERTFOLD_WEBHOOK_ENCRYPTION_KEY"
_KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{32}$")


class InvalidKey(ValueError):
    """The key is not 32 ASCII letters and digits."""


class SealBroken(ValueError):
    """A sealed value does not open: altered, truncated, or sealed with another key."""


def check_key(key: str) -> str:
    if not _KEY_FORMAT.match(key):
        raise InvalidKey(
            f"must be exactly 32 ASCII letters and digits (Slack Manager's format), "
            f"got {len(key)} characters"
            + ("" if key.isascii() and key.isalnum() else " with other characters")
        )
    return key


class WebhookSealer:
    """Seals with the first key; opens with any of them, the first tried first."""

    def __init__(self, key: str, *older: str) -> None:
        self._keys = [AESGCM(check_key(one).encode("ascii")) for one in (key, *older)]

    # -- single values ------------------------------------------------------------------

    def seal(self, plain: bytes) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._keys[0].encrypt(nonce, plain, None)
        return {SEALED_KEY: base64.b64encode(sealed).decode("ascii")}

    def open(self, value: object) -> bytes:
        return self._opened(value)[0]

    def _opened(self, value: object) -> tuple[bytes, bool]:
        """The plain bytes, and whether the current key sealed them."""
        if not is_sealed(value):
            raise SealBroken(f'not a sealed value: expected {{"{SEALED_KEY}": "…"}}')
        assert isinstance(value, dict)
        try:
            raw = base64.b64decode(value[SEALED_KEY], validate=True)
        except (binascii.Error, ValueError):
            raise SealBroken("the sealed value is not base64") from None
        if len(raw) <= NONCE_BYTES:
            raise SealBroken("the sealed value is too short to hold a nonce and a tag")
        for position, aes in enumerate(self._keys):
            try:
                plain = aes.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
            except InvalidTag:
                continue
            return plain, position == 0
        raise SealBroken(
            f"the sealed value does not open with any key of {KEY_VARIABLE} (altered, or "
            "sealed with another key)"
        )

    def _current(self, value: object) -> dict[str, str]:
        """A sealed value under the current key: one an older key sealed is sealed again, so
        that key can be dropped later without breaking the button."""
        plain, current = self._opened(value)
        if current:
            assert isinstance(value, dict)
            return value
        return self.seal(plain)

    # -- webhooks ---------------------------------------------------------------------------

    def seal_webhook(self, hook: Webhook) -> Webhook:
        """Url and payload sealed with the current key; parts sealed already must open with
        one of the keys."""
        url = self._current(hook.url) if is_sealed(hook.url) else self.seal(str(hook.url).encode())
        payload: dict[str, Any] = hook.payload
        if is_sealed(payload):
            payload = self._current(payload)
        elif payload:
            payload = self.seal(_json(payload))
        return hook.model_copy(update={"url": url, "payload": payload})

    def seal_alert(self, alert: Alert) -> Alert:
        if not alert.webhooks:
            return alert
        hooks = tuple(self.seal_webhook(hook) for hook in alert.webhooks)
        return alert.model_copy(update={"webhooks": hooks})

    def open_url(self, url: object) -> str:
        """The URL to call; a plain string (never stored by alertfold itself) as it is."""
        if isinstance(url, str):
            return url
        try:
            return self.open(url).decode()
        except UnicodeDecodeError:
            raise SealBroken("the sealed url is not UTF-8 text") from None

    def open_payload(self, payload: object) -> dict[str, Any]:
        if not is_sealed(payload):
            return dict(payload) if isinstance(payload, dict) else {}
        try:
            opened = json.loads(self.open(payload))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SealBroken("the sealed payload is not JSON") from None
        if not isinstance(opened, dict):
            raise SealBroken("the sealed payload is not a JSON object")
        return opened


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
