"""Who is looking at the page: signed in with a key once, then known by a session cookie.

The cookie (HttpOnly, SameSite=Strict, path `/ui`) holds no key: `payload.mac`, where the
payload says the role, the name, the expiry and a random nonce, and the MAC is an
HMAC-SHA256 keyed by the digest of the key signed in with. It is checked by trying the
digests of the configured keys, so sessions survive a restart and work on every API
process, and removing a key from the settings ends its sessions. Without view keys the page
is readable by anyone; a visitor not signed in still gets an anonymous session, signed with
a secret of this process, to carry a CSRF token.

Every POST from the page carries the session's CSRF token (a hidden form field, or the
`X-CSRF-Token` header), an HMAC of its nonce under the same key: another site can make a
browser send a request, but cannot read the token to put in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response

from gateways.api.auth import ANONYMOUS, Access, Operator, key_digest

COOKIE = "alertfold_session"
COOKIE_PATH = "/ui"
LIFETIME_SECONDS = 12 * 3600
Role = Literal["anonymous", "viewer", "operator"]


class SignInRefused(Exception):
    """The key opens no page; the message says why, for the sign-in form."""


@dataclass(frozen=True)
class Visitor:
    role: Role
    name: str
    csrf: str
    may_read: bool
    may_act: bool
    # A session cookie to set on the answer (a new anonymous session), else "".
    new_cookie: str = ""

    @property
    def operator(self) -> Operator:
        return Operator(self.name) if self.role == "operator" else ANONYMOUS

    @property
    def signed_in(self) -> bool:
        return self.role != "anonymous"


class Sessions:
    def __init__(self, access: Access, clock: Callable[[], float] = time.time) -> None:
        self._access = access
        self._process_secret = os.urandom(32)
        self._now = clock

    @property
    def keys_configured(self) -> bool:
        """Whether signing in means anything: some key opens the page or its acts."""
        return self._access.view.required or self._access.operators.required

    def visitor(self, request: Request) -> Visitor:
        """The visitor of a request: their session, or a new anonymous one."""
        found = self._read(request.cookies.get(COOKIE, ""))
        if found is not None:
            return found
        made = self._visitor(
            self._sign("anonymous", "", self._process_secret), self._process_secret, new=True
        )
        assert made is not None, "a session just signed reads back"
        return made

    def sign_in(self, key: str) -> str:
        """The session cookie's value for a key, or `SignInRefused` saying why not."""
        key = key.strip()
        operator = self._access.operators.holder(key)
        if operator is not None:
            return self._sign("operator", operator.name, key_digest(key))
        if self._access.view.required and self._access.view.holds(key):
            return self._sign("viewer", "viewer", key_digest(key))
        if key and self._access.ingest.holds(key):
            raise SignInRefused("An ingest key does not open the page; use a view or operator key.")
        raise SignInRefused("That key is not one of the configured view or operator keys.")

    def csrf_ok(self, visitor: Visitor, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(visitor.csrf, presented)

    def set_cookie(self, response: Response, value: str, request: Request) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=LIFETIME_SECONDS,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")

    def _sign(self, role: Role, name: str, key: bytes) -> str:
        payload = json.dumps(
            [role, name, int(self._now()) + LIFETIME_SECONDS, os.urandom(16).hex()]
        ).encode()
        encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{encoded}.{_mac(key, 'session', encoded)}"

    def _read(self, cookie: str) -> Visitor | None:
        encoded, _, mac = cookie.partition(".")
        if not encoded or not mac:
            return None
        for key in self._signing_keys():
            if hmac.compare_digest(_mac(key, "session", encoded), mac):
                return self._visitor(cookie, key, new=False)
        return None

    def _visitor(self, cookie: str, key: bytes, *, new: bool) -> Visitor | None:
        encoded = cookie.partition(".")[0]
        try:
            text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            role, name, expires, nonce = json.loads(text)
        except (ValueError, TypeError):
            return None
        if int(expires) < self._now() or role not in ("anonymous", "viewer", "operator"):
            return None
        access = self._access
        return Visitor(
            role=role,
            name=str(name),
            csrf=_mac(key, "csrf", str(nonce)),
            may_read=role != "anonymous" or not access.view.required,
            may_act=role == "operator" or not access.any_keys,
            new_cookie=cookie if new else "",
        )

    def _signing_keys(self) -> list[bytes]:
        access = self._access
        return [
            self._process_secret,
            *access.view.digests,
            *(digest for _, digest in access.operators.digests),
        ]


def _mac(key: bytes, purpose: str, text: str) -> str:
    return hmac.new(key, f"alertfold-{purpose}|{text}".encode(), hashlib.sha256).hexdigest()
