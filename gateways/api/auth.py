"""Optional API keys: `Authorization: Bearer <key>` on ingest, the views and what operators do.

No key configured means the routes are open, as before keys existed. When keys are set, a
request is let through only if its bearer token equals one of them. The answer to a missing
or unknown key is always the same 401 body, so a caller cannot tell a missing header from a
malformed one or a wrong key, and the comparison gives no timing hint either: the token is
hashed and compared in constant time with every key's hash, without stopping at a match
(hashing first also hides the keys' lengths).

Three kinds of key: ingest keys (every alert source holds one), view keys, and operator keys,
which carry the name of the person holding them. What changes what people are told
(acting on issues, silences, notification channels) takes an operator key; a valid key of
another kind is answered 403, since its holder is known but not allowed. Operator keys also
open the views (an operator reads what they act on).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateways.api.errors import ApiError

UNAUTHORIZED_MESSAGE = "missing or invalid API key"
OPERATOR_ONLY = (
    "this route needs an operator key (ALERTFOLD_OPERATOR_API_KEYS); the key given is of "
    "another kind"
)
NO_OPERATORS = (
    "acting on issues needs an operator key, and none is configured: set "
    "ALERTFOLD_OPERATOR_API_KEYS"
)

# Only documents the scheme in the OpenAPI file; the header is read and checked below, so
# every refusal looks the same whatever FastAPI would have said about it.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key, required when ALERTFOLD_INGEST_API_KEYS (ingest), "
    "ALERTFOLD_VIEW_API_KEYS (views, metrics) or ALERTFOLD_OPERATOR_API_KEYS (acts, "
    "silences, notification channels) is set; without those settings the routes are open "
    "and the header is ignored.",
)

UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, Any]] = {
    401: {"description": "an API key is required and the request has none, or a wrong one"}
}
OPERATOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED_RESPONSE,
    403: {"description": "an operator key is required and the request has a key of another kind"},
}


class ApiKeys:
    """The keys that open a group of routes; empty means the routes are open."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._digests = tuple(key_digest(key) for key in keys if key)

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def admit(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value carries one of the keys."""
        return not self._digests or self.holds(bearer_token(authorization))

    @property
    def digests(self) -> tuple[bytes, ...]:
        """SHA-256 digests of the keys: what sessions signed in with a key are signed with."""
        return self._digests

    def holds(self, token: str) -> bool:
        """Whether the token is one of the keys (never so for no keys or an empty token)."""
        presented = key_digest(token)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(presented, digest)
        return matched and bool(token)

    def __repr__(self) -> str:
        return f"ApiKeys({len(self._digests)} key(s))"


@dataclass(frozen=True)
class Operator:
    """Someone who may act: named by their key, or `anonymous` where no key is configured."""

    name: str

    @property
    def actor_id(self) -> str:
        """Who acted, as events record it."""
        return f"web:{self.name}"


ANONYMOUS = Operator("anonymous")


class OperatorKeys:
    """Named keys; the name is who acted."""

    def __init__(self, named: Iterable[tuple[str, str]] = ()) -> None:
        self._named = tuple((name, key_digest(key)) for name, key in named if key)

    @property
    def required(self) -> bool:
        return bool(self._named)

    @property
    def digests(self) -> tuple[tuple[str, bytes], ...]:
        """(name, SHA-256 digest of the key) of every key, as `ApiKeys.digests`."""
        return self._named

    def holder(self, token: str) -> Operator | None:
        """The operator whose key the token is, compared with every key in constant time."""
        presented = key_digest(token)
        found: Operator | None = None
        for name, digest in self._named:
            if hmac.compare_digest(presented, digest):
                found = Operator(name)
        return found if token else None

    def __repr__(self) -> str:
        return f"OperatorKeys({len(self._named)} key(s))"


@dataclass(frozen=True)
class Access:
    """Every kind of key, to tell who a token belongs to and what it opens."""

    ingest: ApiKeys
    view: ApiKeys
    operators: OperatorKeys

    @property
    def any_keys(self) -> bool:
        return self.ingest.required or self.view.required or self.operators.required

    def operator(self, token: str, *, ingest_until_operators: bool) -> Operator:
        """The operator a token names, or the refusal (`ApiError` 401 or 403).

        Without operator keys, `ingest_until_operators` routes take ingest keys as they did
        before operator keys existed; other routes (acting on issues) are open only while
        no key of any kind is configured.
        """
        if not self.operators.required:
            if ingest_until_operators:
                if self.ingest.required and not self.ingest.holds(token):
                    raise _unauthorized()
                return ANONYMOUS
            if not self.any_keys:
                return ANONYMOUS
        holder = self.operators.holder(token)
        if holder is not None:
            return holder
        if self.ingest.holds(token) or self.view.holds(token):
            raise ApiError(403, OPERATOR_ONLY if self.operators.required else NO_OPERATORS)
        raise _unauthorized()


def view_keys(keys: Iterable[str], operators: Iterable[tuple[str, str]]) -> ApiKeys:
    """The keys that open the views: the view keys and, when there are any, operators' keys."""
    listed = tuple(keys)
    return ApiKeys((*listed, *(key for _, key in operators)) if listed else ())


def bearer_token(authorization: str | None) -> str:
    """The token of `Bearer <token>` (scheme case-insensitive), or "" for anything else."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    token = token.strip()
    return "" if " " in token else token


def require(keys: ApiKeys) -> Callable[..., Awaitable[None]]:
    """A route dependency refusing requests without one of `keys`, before the body is read."""

    # Async: a plain function would be run in the thread pool, a hop per request.
    async def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    ) -> None:
        if not keys.admit(request.headers.get("authorization")):
            raise _unauthorized()

    return check


def require_operator(
    access: Access, *, ingest_until_operators: bool = False
) -> Callable[..., Awaitable[Operator]]:
    """A route dependency answering the operator acting, before the body is read."""

    async def check(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    ) -> Operator:
        token = bearer_token(request.headers.get("authorization"))
        return access.operator(token, ingest_until_operators=ingest_until_operators)

    return check


def _unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})


def key_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()
