"""Optional API keys: `Authorization: Bearer <key>` on ingest and on the views.

No key configured means the routes are open, as before keys existed. When keys are set, a
request is let through only if its bearer token equals one of them. The answer to a refused
request is always the same 401 body, so a caller cannot tell a missing header from a
malformed one or a wrong key, and the comparison gives no timing hint either: the token is
hashed and compared in constant time with every key's hash, without stopping at a match
(hashing first also hides the keys' lengths).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateways.api.errors import ApiError

UNAUTHORIZED_MESSAGE = "missing or invalid API key"

# Only documents the scheme in the OpenAPI file; the header is read and checked below, so
# every refusal looks the same whatever FastAPI would have said about it.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key, required when ALERTFOLD_INGEST_API_KEYS (ingest) or "
    "ALERTFOLD_VIEW_API_KEYS (views, metrics) is set; without those settings the routes are "
    "open and the header is ignored.",
)

UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, Any]] = {
    401: {"description": "an API key is required and the request has none, or a wrong one"}
}


class ApiKeys:
    """The keys that open a group of routes; empty means the routes are open."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._digests = tuple(_digest(key) for key in keys if key)

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def admit(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value carries one of the keys."""
        if not self._digests:
            return True
        token = bearer_token(authorization)
        presented = _digest(token)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(presented, digest)
        return matched and bool(token)

    def __repr__(self) -> str:
        return f"ApiKeys({len(self._digests)} key(s))"


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
            raise ApiError(401, UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})

    return check


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()
