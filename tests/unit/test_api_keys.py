"""API keys: a bearer token is let through only when it is one of the configured keys."""

from __future__ import annotations

import pytest

from gateways.api.auth import ApiKeys, bearer_token

KEY = "k3y-0123456789abcdef"
OTHER = "other-key-fedcba9876543210"


def test_without_keys_every_request_is_let_through() -> None:
    keys = ApiKeys()
    assert not keys.required
    assert keys.admit(None)
    assert keys.admit("Bearer anything")


@pytest.mark.parametrize("key", [KEY, OTHER])
def test_any_configured_key_opens_the_routes(key: str) -> None:
    assert ApiKeys([KEY, OTHER]).admit(f"Bearer {key}")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {KEY}",
        KEY,
        f"Bearer {KEY}x",
        f"Bearer {KEY[:-1]}",
        f"Bearer {KEY} {KEY}",
        "Bearer wrong-key-0123456789",
    ],
)
def test_a_missing_malformed_or_wrong_header_is_refused(header: str | None) -> None:
    assert not ApiKeys([KEY, OTHER]).admit(header)


def test_the_scheme_is_case_insensitive_and_spaces_around_the_token_are_ignored() -> None:
    keys = ApiKeys([KEY])
    assert keys.admit(f"bearer {KEY}")
    assert keys.admit(f"BEARER   {KEY}  ")


def test_bearer_token_is_empty_for_anything_but_one_bearer_token() -> None:
    assert bearer_token(f"Bearer {KEY}") == KEY
    assert bearer_token("Token abc") == ""
    assert bearer_token(None) == ""


def test_the_keys_never_show_in_their_representation() -> None:
    shown = repr(ApiKeys([KEY, OTHER]))
    assert KEY not in shown and OTHER not in shown
    assert shown == "ApiKeys(2 key(s))"
