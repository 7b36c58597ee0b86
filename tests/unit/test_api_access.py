"""Which key opens which route: every route of the API, tried with every kind of key.

The table below is the README's security section as data; a route missing from it fails
the walk, so a new route cannot be added without saying who may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.routing import RouteTable
from gateways.alert_publisher import AlertPublisher
from gateways.api.app import create_api
from gateways.api.auth import ApiKeys, OperatorKeys, view_keys
from gateways.api.dependencies import ApiDependencies
from infra.database import create_database_engine
from projections.lookup_store import LookupStore

INGEST = "ingest-key-0123456789"
VIEW = "view-key-0123456789ab"
OPERATOR = "operator-key-0123456789"
WRONG = "wrong-key-0123456789abc"
KEYS = {"none": None, "wrong": WRONG, "ingest": INGEST, "view": VIEW, "operator": OPERATOR}

OPEN, INGESTING, VIEWING, OPERATING, PAGE = "open", "ingest", "view", "operator", "page"
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/ping"): OPEN,
    ("GET", "/health"): OPEN,
    ("POST", "/pagerduty/webhook"): OPEN,  # signed by PagerDuty instead
    ("POST", "/slack/events"): OPEN,  # signed by Slack instead
    ("POST", "/slack/interactions"): OPEN,
    ("POST", "/slack/commands"): OPEN,
    **{
        ("POST", path): INGESTING
        for path in (
            "/alert",
            "/alerts",
            "/alert/{channel}",
            "/alerts/{channel}",
            "/prometheus-alert",
            "/prometheus-alert/{channel}",
            "/alertmanager/webhook",
            "/alertmanager/webhook/{channel}",
            "/api/v2/alerts",  # Prometheus and amtool sending alerts, as to Alertmanager
            "/prometheus-alert/{channel}/api/v2/alerts",
        )
    },
    **{
        ("GET", path): VIEWING
        for path in (
            "/issues",
            "/issues/{issue_id}",
            "/issues/{issue_id}/history",
            "/channels",
            "/mappings",
            "/metrics",
            "/silences",
            "/notification-log",
            "/issues/counts",
            "/api/v2/status",
            "/api/v2/alerts",
            "/api/v2/silences",
            "/api/v2/silence/{silence_id}",
        )
    },
    **{
        ("POST", f"/issues/{{issue_id}}/{act}"): OPERATING
        for act in ("acknowledge", "unacknowledge", "resolve", "reopen", "silence", "move")
    },
    ("POST", "/silences"): OPERATING,
    ("DELETE", "/silences/{silence_id}"): OPERATING,
    ("POST", "/api/v2/silences"): OPERATING,
    ("DELETE", "/api/v2/silence/{silence_id}"): OPERATING,
    ("GET", "/notification-channels"): OPERATING,
    ("POST", "/notification-channels"): OPERATING,
    ("GET", "/notification-channels/{channel_id}"): OPERATING,
    ("PUT", "/notification-channels/{channel_id}"): OPERATING,
    ("DELETE", "/notification-channels/{channel_id}"): OPERATING,
    ("POST", "/notification-channels/{channel_id}/test"): OPERATING,
}
ADMITS = {
    OPEN: set(KEYS),
    INGESTING: {"ingest"},
    VIEWING: {"view", "operator"},
    OPERATING: {"operator"},
}


async def _reachable() -> tuple[bool, str]:
    return True, ""


def api(
    *, ingest: tuple[str, ...] = (), view: tuple[str, ...] = (), operators: tuple[str, ...] = ()
) -> FastAPI:
    named = tuple(("ana", key) for key in operators)
    return create_api(
        ApiDependencies(
            publisher=AlertPublisher("127.0.0.1:9", "alerts", timeout=0.5),
            store=_store(),
            routes=RouteTable([]),
            clock=lambda: datetime.now(UTC),
            broker_check=_reachable,
            database_check=lambda: (True, ""),
            max_body_bytes=4096,
            ingest_keys=ApiKeys(ingest),
            view_keys=view_keys(view, named),
            operator_keys=OperatorKeys(named),
        )
    )


def _store() -> LookupStore:
    store = LookupStore(create_database_engine("sqlite://"))
    store.create_schema()
    return store


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every documented route (the others are redirects to the page)."""
    for path, operations in app.openapi()["paths"].items():
        for method in sorted(operations):
            yield method.upper(), path


def call(client: TestClient, method: str, path: str, key: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.request(method, url, headers=headers, content=b"").status_code


def test_every_route_is_opened_by_its_kind_of_key_and_refused_to_the_others() -> None:
    app = api(ingest=(INGEST,), view=(VIEW,), operators=(OPERATOR,))
    client = TestClient(app)
    walked = 0
    for method, path in routes(app):
        if path.startswith("/ui/"):
            continue  # the page signs in with a session (tests/unit/test_web_sessions.py)
        kind = ACCESS.get((method, path))
        assert kind is not None, f"{method} {path} is not in the access table"
        for key_kind, key in KEYS.items():
            status = call(client, method, path, key)
            if key_kind in ADMITS[kind]:
                assert status not in (401, 403), (method, path, key_kind, status)
            elif kind == OPERATING and key_kind in ("ingest", "view"):
                assert status == 403, (method, path, key_kind, status)
            else:
                assert status == 401, (method, path, key_kind, status)
        walked += 1
    assert walked == len(ACCESS)


def test_before_operator_keys_exist_ingest_keys_still_set_silences_and_channels() -> None:
    client = TestClient(api(ingest=(INGEST,), view=(VIEW,)))
    for method, path in [("POST", "/silences"), ("POST", "/notification-channels")]:
        assert call(client, method, path, INGEST) not in (401, 403)
        assert call(client, method, path, VIEW) == 401
        assert call(client, method, path, None) == 401


def test_acts_need_an_operator_key_whenever_any_key_is_configured() -> None:
    client = TestClient(api(ingest=(INGEST,)))
    refused = client.post("/issues/x/acknowledge", headers={"Authorization": f"Bearer {INGEST}"})
    assert refused.status_code == 403
    assert "ALERTFOLD_OPERATOR_API_KEYS" in refused.json()["error"]
    assert client.post("/issues/x/acknowledge").status_code == 401


def test_without_keys_every_route_is_open() -> None:
    client = TestClient(api())
    for method, path in sorted(ACCESS):
        assert call(client, method, path, None) not in (401, 403), (method, path)
