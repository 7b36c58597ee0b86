"""Encryption at rest of notification secrets (tokens, passwords, signing keys).

AES-256-GCM under a key from `ALERTFOLD_SECRETS_KEY`: 32 random bytes, base64-encoded
(`python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"`). GCM
authenticates as well as hides, so a value sealed under another key, or tampered with, is
refused instead of decrypting to garbage; the value's owner (a channel id) is bound in as
associated data, so a sealed value copied onto another row does not open either.

Keys rotate: `ALERTFOLD_SECRETS_KEY` may list several (`new,old`). The first seals, every one
opens, and `reseal` moves a value sealed under an older key to the first, so that once every
stored value has been resealed the older key can be dropped.

The key is held only by this object and never appears in its repr, in errors or in logs.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

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
        raise ValueError(f"is not base64; {KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes, not {KEY_BYTES}; {KEY_HINT}")
    return key


class SecretBox:
    """Seals short secrets under the first AES-256-GCM key; opens them with any key."""

    def __init__(self, key: bytes, *older: bytes) -> None:
        keys = (key, *older)
        for one in keys:
            if len(one) != KEY_BYTES:
                raise ValueError(f"an AES-256 key is {KEY_BYTES} bytes, not {len(one)}")
        self._aeads = [AESGCM(one) for one in keys]

    @classmethod
    def from_keys(cls, texts: Sequence[str]) -> SecretBox | None:
        """The box for the configured keys (base64), or None when none is configured."""
        return cls(*(parse_key(text) for text in texts)) if texts else None

    def seal(self, plaintext: bytes, *, owner: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aeads[0].encrypt(nonce, plaintext, owner.encode())
        return _PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, *, owner: str) -> bytes:
        return self._opened(sealed, owner)[0]

    def reseal(self, sealed: str, *, owner: str) -> str | None:
        """The value sealed again under the first key, or None when the first key sealed it."""
        plaintext, current = self._opened(sealed, owner)
        return None if current else self.seal(plaintext, owner=owner)

    def _opened(self, sealed: str, owner: str) -> tuple[bytes, bool]:
        """The plaintext, and whether the first key sealed it."""
        if not sealed.startswith(_PREFIX):
            raise SecretBoxError(f"the secrets of {owner!r} are not in a format this version reads")
        try:
            raw = base64.b64decode(sealed.removeprefix(_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        for position, aead in enumerate(self._aeads):
            try:
                plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], owner.encode())
            except (InvalidTag, ValueError):
                continue
            return plaintext, position == 0
        raise SecretBoxError(
            f"the secrets of {owner!r} do not open with any key of {KEY_VARIABLE}: none is the "
            "key they were stored with, or they were altered"
        )

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
