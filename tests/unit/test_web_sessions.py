"""Signing in to the page: a key once, then a session cookie; CSRF tokens on every POST."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from tests.unit.test_api_access import INGEST, OPERATOR, VIEW, api

FETCH = {"X-Requested-With": "fetch"}


def csrf_of(page: Response) -> str:
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text) or re.search(
        r'name="csrf" value="([0-9a-f]+)"', page.text
    )
    assert found, page.text[:500]
    return found.group(1)


def signed_in(client: TestClient, key: str) -> Response:
    form = client.get("/ui/sign-in")
    return client.post(
        "/ui/sign-in",
        data={"csrf": csrf_of(form), "key": key, "next": "/ui/"},
        follow_redirects=False,
    )


def keyed_client() -> TestClient:
    return TestClient(api(ingest=(INGEST,), view=(VIEW,), operators=(OPERATOR,)))


def test_with_keys_the_page_sends_a_visitor_without_a_session_to_sign_in() -> None:
    client = keyed_client()
    answer = client.get("/ui/?status=resolved&severity=panic", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/ui/sign-in?next=/ui/%3Fstatus%3Dresolved%26severity%3Dpanic"
    )
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"


def test_the_session_cookie_is_http_only_same_site_strict_and_holds_no_key() -> None:
    answer = signed_in(keyed_client(), OPERATOR)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert OPERATOR not in cookie


def test_an_ingest_key_or_a_wrong_key_does_not_sign_in() -> None:
    client = keyed_client()
    for key, says in ((INGEST, "ingest key does not open"), ("nope-0123456789abcdef", "not one")):
        answer = signed_in(client, key)
        assert answer.status_code == 401 and says in answer.text


def test_a_view_key_reads_but_cannot_act() -> None:
    client = keyed_client()
    signed_in(client, VIEW)
    page = client.get("/ui/")
    assert page.status_code == 200 and "Signed in as" in page.text
    assert ">Acknowledge<" not in page.text
    refused = client.post("/ui/issues/x/acknowledge", data={"csrf": csrf_of(page)}, headers=FETCH)
    assert refused.status_code == 403
    assert client.get("/ui/settings/notifications").status_code == 403


def test_an_operator_acts_only_with_the_session_csrf_token() -> None:
    client = keyed_client()
    signed_in(client, OPERATOR)
    page = client.get("/ui/")
    assert "Signed in as <strong>ana</strong>" in page.text
    without = client.post("/ui/issues/x/acknowledge", data={}, headers=FETCH)
    forged = client.post("/ui/issues/x/acknowledge", data={"csrf": "0" * 64}, headers=FETCH)
    assert without.status_code == forged.status_code == 403
    taken = client.post("/ui/issues/x/acknowledge", data={"csrf": csrf_of(page)}, headers=FETCH)
    assert (taken.status_code, taken.json()) == (404, {"message": "no issue with id x"})


def test_a_token_of_another_session_is_refused() -> None:
    first, second = keyed_client(), keyed_client()
    signed_in(first, OPERATOR)
    signed_in(second, OPERATOR)
    stolen = csrf_of(first.get("/ui/"))
    answer = second.post("/ui/issues/x/acknowledge", data={"csrf": stolen}, headers=FETCH)
    assert answer.status_code == 403


def test_signing_out_ends_the_session() -> None:
    client = keyed_client()
    signed_in(client, OPERATOR)
    page = client.get("/ui/")
    out = client.post("/ui/sign-out", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert out.status_code == 303 and 'alertfold_session=""' in out.headers["set-cookie"]
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_without_keys_the_page_is_open_and_acts_as_anonymous() -> None:
    app = api()
    client = TestClient(app)
    page = client.get("/ui/")
    assert page.status_code == 200 and "Sign in" not in page.text
    answer = client.post("/ui/issues/x/resolve", data={"csrf": csrf_of(page)}, headers=FETCH)
    assert answer.status_code == 404
