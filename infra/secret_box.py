"""Encryption at rest of notification secrets (tokens, passwords, signing keys).

AES-256-GCM under a key from `ALERTFOLD_SECRETS_KEY`: 32 random bytes, base64-encoded
(`python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"`). GCM
authenticates as well as hides, so a value sealed under another key, or tampered with, is
refused instead of decrypting to garbage; the value's owner (a channel id) is bound in as
associated data, so a sealed value copied onto another row does not open either.

The key is held only by this object and never appears in its repr, in errors or in logs.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_VARIABLE = "ALERTFOLD_SECRETS_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12
_PREFIX = "v1:"
KEY_HINT = (
    f"{KEY_VARIABLE} must be {KEY_BYTES} random bytes in base64, e.g. the output of "
    'python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"'
)


class SecretBoxError(Exception):
    """Secrets cannot be sealed or opened; the message says which setting to fix."""


class SecretsKeyMissing(SecretBoxError):
    """Secrets must be stored or read, and no key is configured."""


def parse_key(text: str) -> bytes:
    """The raw key from its base64 form; `ValueError` naming the expected format."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"not base64; {KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes, not {KEY_BYTES}; {KEY_HINT}")
    return key


class SecretBox:
    """Seals and opens short secrets under one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256 key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_text(cls, text: str | None) -> SecretBox | None:
        """The box for a configured key (base64), or None when none is configured."""
        return cls(parse_key(text)) if text else None

    def seal(self, plaintext: bytes, *, owner: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, owner.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, owner: str) -> bytes:
        if not sealed.startswith(_PREFIX):
            raise SecretBoxError(f"the secrets of {owner!r} are not in a format this version reads")
        try:
            raw = base64.b64decode(sealed.removeprefix(_PREFIX), validate=True)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretBoxError(
                f"the secrets of {owner!r} do not open with {KEY_VARIABLE}: it is not the key "
                "they were stored with, or they were altered"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(key hidden)"


def require_box(box: SecretBox | None, owner: str, action: str) -> SecretBox:
    """`box`, or the error telling to set the key when `owner`'s secrets need one."""
    if box is None:
        raise SecretsKeyMissing(
            f"cannot {action} the secrets of notification channel {owner!r}: {KEY_VARIABLE} "
            f"is not set. {KEY_HINT}"
        )
    return box
