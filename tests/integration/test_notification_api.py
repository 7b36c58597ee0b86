"""The notification endpoints over HTTP, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.routing import RouteTable
from gateways.alert_publisher import AlertPublisher
from gateways.api.app import create_api
from gateways.api.auth import ApiKeys
from gateways.api.dependencies import ApiDependencies
from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import Attempt, DeliveryLog
from gateways.notify.services import NotificationServices
from gateways.notify.targets import WebhookTarget
from infra.database import create_database_engine
from infra.kafka_clients import KafkaConnection
from infra.secret_box import SecretBox
from projections.lookup_store import LookupStore
from tests.support.notify_servers import HttpReceiver, running

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

INGEST_KEY = "ingest-key-0123456789"
AUTH = {"Authorization": f"Bearer {INGEST_KEY}"}
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/api.db"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def services(database_url: str) -> NotificationServices:
    engine = create_database_engine(database_url)
    declared = NotificationChannel(
        id="from-file",
        name="Declared in the file",
        target=WebhookTarget(url="https://hooks.example/file"),
        source="file",
    )
    channels = ChannelStore(engine, SecretBox(os.urandom(32)), [declared])
    channels.create_schema()
    deliveries = DeliveryLog(engine)
    deliveries.create_schema()
    return NotificationServices(channels, deliveries, clock=lambda: T0, http_timeout=5)


def api(services: NotificationServices) -> TestClient:
    async def broker_ok() -> tuple[bool, str]:
        return True, ""

    deps = ApiDependencies(
        publisher=AlertPublisher(KafkaConnection("127.0.0.1:9"), "alerts"),
        store=LookupStore(create_database_engine("sqlite://")),
        routes=RouteTable([]),
        clock=lambda: T0,
        broker_check=broker_ok,
        database_check=lambda: (True, ""),
        max_body_bytes=1 << 20,
        ingest_keys=ApiKeys([INGEST_KEY]),
        notifications=services,
    )
    return TestClient(create_api(deps))


@pytest.fixture
def client(services: NotificationServices) -> Iterator[TestClient]:
    with api(services) as test_client:
        yield test_client


def webhook(url: str = "https://hooks.example/a", **extra: Any) -> dict[str, Any]:
    return {"name": "Team A", "target": {"kind": "webhook", "url": url, **extra}}


def test_channels_are_created_read_replaced_and_deleted_without_revealing_secrets(
    client: TestClient, services: NotificationServices
) -> None:
    body = {"id": "team-a", **webhook(bearer_token="tok-123"), "rule": {"min_severity": "error"}}
    created = client.post("/notification-channels", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["target"]["bearer_token"] == "***"
    assert "tok-123" not in client.get("/notification-channels", headers=AUTH).text

    shown = client.get("/notification-channels/team-a", headers=AUTH).json()
    shown["name"] = "Team A (renamed)"
    replaced = client.put("/notification-channels/team-a", json=shown, headers=AUTH)
    assert replaced.status_code == 200, replaced.text
    stored = services.channels.get("team-a")
    assert stored.name == "Team A (renamed)"
    assert stored.target.bearer_token is not None  # type: ignore[union-attr]
    assert stored.target.bearer_token.get_secret_value() == "tok-123"  # type: ignore[union-attr]

    listed = client.get("/notification-channels", headers=AUTH).json()
    assert [c["id"] for c in listed["channels"]] == ["from-file", "team-a"]
    assert client.delete("/notification-channels/team-a", headers=AUTH).status_code == 204
    assert client.get("/notification-channels/team-a", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/notification-channels", {"id": "from-file", **webhook()}, 409, "exists"),
        ("put", "/notification-channels/from-file", webhook(), 409, "channels file"),
        ("delete", "/notification-channels/from-file", None, 409, "channels file"),
        ("put", "/notification-channels/nope", webhook(), 404, "no notification channel"),
        ("delete", "/notification-channels/nope", None, 404, "no notification channel"),
        ("post", "/notification-channels/nope/test", None, 404, "no notification channel"),
        ("post", "/notification-channels", webhook(url="ftp://x"), 422, "target.webhook.url"),
        ("post", "/notification-channels", {"name": "x"}, 422, "target"),
        ("post", "/notification-channels", {"id": "bad id!", **webhook()}, 422, "id"),
        ("get", "/notification-log?ok=maybe", None, 400, "ok"),
        ("get", "/notification-log?since=yesterday", None, 400, "since"),
    ],
)
def test_refusals_are_precise(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    answer = client.request(method, path, json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    answer = client.post("/notification-channels", content=b"{nope", headers=AUTH)
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_channels_need_the_ingest_key_when_keys_are_set(client: TestClient) -> None:
    assert client.get("/notification-channels").status_code == 401
    assert client.post("/notification-channels", json=webhook()).status_code == 401


def test_the_test_endpoint_sends_one_test_notification_and_answers_its_result(
    client: TestClient,
) -> None:
    with running(HttpReceiver()) as receiver:
        hook = {"id": "hook", **webhook(receiver.url)}
        assert client.post("/notification-channels", json=hook, headers=AUTH).status_code == 201
        ok = client.post("/notification-channels/hook/test", headers=AUTH)
        receiver.fail_next(1, status=500)
        failed = client.post("/notification-channels/hook/test", headers=AUTH)
        requests = receiver.requests
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert failed.json()["ok"] is False and failed.json()["status_code"] == 500
    assert len(requests) == 2  # no retry
    assert requests[0].json()["kind"] == "test"


def test_the_log_filters_attempts_by_channel_issue_outcome_and_time(
    client: TestClient, services: NotificationServices
) -> None:
    def attempt(channel: str, issue: str, ok: bool, minutes: int) -> Attempt:
        return Attempt(
            channel_id=channel,
            issue_id=issue,
            event_id=f"{issue}:1",
            kind="opened",
            attempt=1,
            ok=ok,
            status_code=200 if ok else 500,
            latency_ms=3.5,
            error="" if ok else "HTTP 500",
            at=T0 + timedelta(minutes=minutes),
        )

    for row in (
        attempt("a", "i1", True, 0),
        attempt("a", "i2", False, 1),
        attempt("b", "i1", True, 2),
    ):
        services.deliveries.record_attempt(row)

    def log(query: str) -> list[tuple[str, str]]:
        answer = client.get(f"/notification-log?{query}")
        assert answer.status_code == 200, answer.text
        return [(a["channel_id"], a["issue_id"]) for a in answer.json()["attempts"]]

    assert log("") == [("b", "i1"), ("a", "i2"), ("a", "i1")]
    assert log("channel_id=a") == [("a", "i2"), ("a", "i1")]
    assert log("issue_id=i1") == [("b", "i1"), ("a", "i1")]
    assert log("ok=false") == [("a", "i2")]
    assert log("since=2024-05-01T12:01:00Z") == [("b", "i1"), ("a", "i2")]
    assert log("limit=1") == [("b", "i1")]


def test_secrets_stored_under_a_key_are_a_503_naming_it_when_the_key_is_missing(
    database_url: str, client: TestClient
) -> None:
    body = {"id": "s", **webhook(bearer_token="t")}
    assert client.post("/notification-channels", json=body, headers=AUTH).status_code == 201
    engine = create_database_engine(database_url)
    keyless = NotificationServices(ChannelStore(engine, None), DeliveryLog(engine), lambda: T0)
    with api(keyless) as without_key:
        answer = without_key.get("/notification-channels/s", headers=AUTH)
        refused = without_key.post(
            "/notification-channels", json={"id": "t", **webhook(bearer_token="u")}, headers=AUTH
        )
    assert (
        answer.status_code == 503 and "ALERTFOLD_SECRETS_KEY is not set" in answer.json()["error"]
    )
    assert refused.status_code == 503 and "ALERTFOLD_SECRETS_KEY" in refused.json()["error"]
