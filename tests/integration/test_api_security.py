"""The API's security through the real `alertfold api` process: API keys, the per-channel
rate limit, the body limit on streamed bodies, and no secret in any log."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy

from harness.waiting import eventually
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

INGEST_KEY = "ingest-key-" + uuid.uuid4().hex
SECOND_INGEST_KEY = "second-ingest-" + uuid.uuid4().hex
VIEW_KEY = "view-key-" + uuid.uuid4().hex
BOT_TOKEN = "xoxb-" + uuid.uuid4().hex
APP_TOKEN = "xapp-" + uuid.uuid4().hex
WEBHOOK_URL = f"https://hooks.example.com/restart/{uuid.uuid4().hex}"
WEBHOOK_KEY = uuid.uuid4().hex  # 32 letters and digits: seals webhook URLs and payloads
PAGERDUTY_SECRET = "pd-" + uuid.uuid4().hex
WEAK_KEY = "weak-" + uuid.uuid4().hex[:8]  # refused: shorter than 16 characters
BURST = 3
BODY_LIMIT = 4096
UNAUTHORIZED = {"error": "missing or invalid API key"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def alert(channel: str, n: int = 0, **fields: Any) -> dict[str, Any]:
    return {"slackChannelId": channel, "correlationId": f"sec-{n}", "header": f"h{n}", **fields}


def fresh_channel() -> str:
    return f"CSEC{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture(scope="module")
def database_url(postgres_server_url: str) -> str:
    """A new database whose URL carries a password (trust authentication ignores it)."""
    server = sqlalchemy.engine.make_url(postgres_server_url)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(
        server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    if server.password is None:
        server = server.set(password="pg-password-" + uuid.uuid4().hex)
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def secured(
    kafka_bootstrap_servers: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Product]:
    with secured_product(kafka_bootstrap_servers, database_url, tmp_path_factory) as product:
        yield product


@pytest.fixture(scope="module")
def secured_json(
    kafka_bootstrap_servers: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Product]:
    """The same product logging JSON lines."""
    with secured_product(
        kafka_bootstrap_servers, database_url, tmp_path_factory, ALERTFOLD_LOG_FORMAT="json"
    ) as product:
        yield product


@contextmanager
def secured_product(
    kafka_bootstrap_servers: str,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    **env: str,
) -> Iterator[Product]:
    with running_product(
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("secured"),
        database_url,
        ALERTFOLD_INGEST_API_KEYS=f"{INGEST_KEY},{SECOND_INGEST_KEY}",
        ALERTFOLD_VIEW_API_KEYS=VIEW_KEY,
        # One alert per 100 s: a refused request stays refused for the whole test.
        ALERTFOLD_RATE_LIMIT_PER_SECOND="0.01",
        ALERTFOLD_RATE_LIMIT_BURST=str(BURST),
        ALERTFOLD_MAX_BODY_BYTES=str(BODY_LIMIT),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        ALERTFOLD_WEBHOOK_ENCRYPTION_KEY=WEBHOOK_KEY,
        ALERTFOLD_PAGERDUTY_WEBHOOK_SECRETS=PAGERDUTY_SECRET,
        # The most talkative level: whatever any library logs is in the logs checked below.
        ALERTFOLD_LOG_LEVEL="debug",
        **env,
    ) as product:
        yield product


def post(product: Product, path: str, body: Any, key: str | None = INGEST_KEY) -> httpx.Response:
    headers = bearer(key) if key else {}
    return httpx.post(f"{product.api_url}{path}", json=body, headers=headers, timeout=30)


def get(product: Product, path: str, key: str | None = VIEW_KEY, **params: Any) -> httpx.Response:
    headers = bearer(key) if key else {}
    return httpx.get(f"{product.api_url}{path}", params=params, headers=headers, timeout=30)


def stored_alerts(product: Product, channel: str) -> list[dict[str, Any]]:
    return [
        json.loads(r.value)["alert"] for r in product.records("alerts") if r.key == channel.encode()
    ]


# -- API keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": INGEST_KEY}, {"Authorization": "Basic abc"}, bearer("wrong-key")],
    ids=["missing", "no scheme", "basic", "wrong key"],
)
def test_ingest_without_a_valid_key_is_a_401_that_never_says_why(
    secured: Product, headers: dict[str, str]
) -> None:
    channel = fresh_channel()
    response = httpx.post(
        f"{secured.api_url}/alert", json=alert(channel), headers=headers, timeout=30
    )
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_view_key_does_not_open_ingest_and_an_ingest_key_does_not_open_the_views(
    secured: Product,
) -> None:
    assert post(secured, "/alert", alert(fresh_channel()), key=VIEW_KEY).status_code == 401
    for path in ("/issues", "/channels", "/mappings", "/metrics", f"/issues/{uuid.uuid4()}"):
        refused = get(secured, path, key=INGEST_KEY)
        assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED), path
        assert get(secured, path, key=None).status_code == 401, path


def test_the_key_is_checked_before_the_body_is_read(secured: Product) -> None:
    too_big = b"x" * (BODY_LIMIT * 4)
    response = httpx.post(f"{secured.api_url}/alert", content=too_big, timeout=30)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_every_configured_key_opens_its_routes_and_probes_stay_open(secured: Product) -> None:
    channel = fresh_channel()
    assert post(secured, "/alert", alert(channel, 1), key=INGEST_KEY).status_code == 202
    assert post(secured, "/alert", alert(channel, 2), key=SECOND_INGEST_KEY).status_code == 202
    assert get(secured, "/issues", channel_id=channel).status_code == 200
    assert get(secured, "/metrics").status_code == 200
    assert get(secured, "/ping", key=None).text == "pong"
    assert get(secured, "/health", key=None).status_code == 200
    assert get(secured, "/openapi.json", key=None).status_code == 200


# -- rate limit -------------------------------------------------------------------------------


def test_past_its_burst_a_channel_gets_a_429_with_rate_limit_headers(secured: Product) -> None:
    channel = fresh_channel()
    for n in range(BURST):
        assert post(secured, "/alert", alert(channel, n)).status_code == 202
    refused = post(secured, f"/alert/{channel}", {"header": "one too many"})
    assert refused.status_code == 429
    assert "rate limit exceeded for channel" in refused.json()["error"]
    assert 90 <= int(refused.headers["Retry-After"]) <= 100  # one token per 100 s
    assert refused.headers["RateLimit-Limit"] == str(BURST)
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 290 <= int(refused.headers["RateLimit-Reset"]) <= 300  # the whole burst back
    assert [a["header"] for a in stored_alerts(secured, channel)] == ["h0", "h1", "h2"]


def test_a_request_over_any_channels_limit_publishes_none_of_its_alerts(
    secured: Product,
) -> None:
    full, other = fresh_channel(), fresh_channel()
    assert post(secured, "/alerts", [alert(full, n) for n in range(BURST)]).status_code == 202
    refused = post(secured, "/alerts", [alert(other, 7), alert(full, 8)])
    assert refused.status_code == 429
    assert stored_alerts(secured, other) == []
    assert len(stored_alerts(secured, full)) == BURST
    # The refused request spent none of the other channel's burst.
    assert post(secured, "/alerts", [alert(other, n) for n in range(BURST)]).status_code == 202


def test_the_prometheus_route_is_limited_too_and_metrics_count_the_429s(
    secured: Product,
) -> None:
    channel = fresh_channel()
    webhook = {
        "version": "4",
        "status": "firing",
        "receiver": "alertfold",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": f"a{n}"},
                "annotations": {"summary": "s"},
                "startsAt": "2024-05-01T12:00:00Z",
            }
            for n in range(BURST + 1)
        ],
    }
    refused = post(secured, f"/prometheus-alert/{channel}", webhook)
    assert refused.status_code == 429, refused.text
    assert f"exceed its burst of {BURST}" in refused.json()["error"]
    metrics = get(secured, "/metrics").text
    assert (
        'alertfold_http_requests_total{method="POST",route="/prometheus-alert/{channel}",'
        'status="429"}' in metrics
    )
    assert 'alertfold_ingest_alerts_total{outcome="rate_limited"}' in metrics


# -- body limit -------------------------------------------------------------------------------


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(secured: Product) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            sent.append(1024)
            yield b" " * 1024

    response = httpx.post(
        f"{secured.api_url}/alert", content=chunks(), headers=bearer(INGEST_KEY), timeout=30
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json() == {"error": f"body exceeds the limit of {BODY_LIMIT} bytes"}


def test_a_chunked_body_that_never_ends_is_answered_413_once_past_the_limit(
    secured: Product,
) -> None:
    port = int(secured.env["ALERTFOLD_API_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"POST /alert HTTP/1.1\r\nHost: alertfold\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {INGEST_KEY}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b" " * 1024
        for _ in range(BODY_LIMIT // len(chunk) + 1):
            connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        # No terminating chunk: the answer must come without the end of the body.
        status_line = connection.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


# -- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_reaches_any_log_or_error(
    log_format: str, database_url: str, request: pytest.FixtureRequest
) -> None:
    secured: Product = request.getfixturevalue(
        "secured" if log_format == "text" else "secured_json"
    )
    channel = fresh_channel()
    hook = {"id": "restart", "url": WEBHOOK_URL, "buttonText": "Restart"}
    assert post(secured, "/alert", alert(channel, 1, webhooks=[hook])).status_code == 202
    assert post(secured, "/alert", alert(channel, 2), key="wrong-" + INGEST_KEY).status_code == 401
    invalid = alert(channel, 3, severity="loud", webhooks=[{**hook, "url": "ftp://" + WEBHOOK_URL}])
    assert post(secured, "/alert", invalid).status_code == 400
    secured.produce("alerts", json.dumps(invalid).encode(), key=channel.encode())
    eventually(
        lambda: get(secured, "/issues", channel_id=channel).json()["issues"],
        what="the issue with the webhook in the view",
    )
    eventually(
        lambda: any(r.key == channel.encode() for r in secured.records("alerts.dlq")),
        what="the invalid alert in alerts.dlq",
    )
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "api"],
        env={**secured.env, "ALERTFOLD_API_PORT": "eighty", "ALERTFOLD_VIEW_API_KEYS": WEAK_KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "ALERTFOLD_API_PORT='eighty'" in refused.stderr
    assert "ALERTFOLD_VIEW_API_KEYS=(hidden)" in refused.stderr
    password = sqlalchemy.engine.make_url(database_url).password
    secrets = [INGEST_KEY, SECOND_INGEST_KEY, VIEW_KEY, BOT_TOKEN, APP_TOKEN, WEBHOOK_URL]
    secrets += [WEBHOOK_KEY, PAGERDUTY_SECRET]
    secrets += [WEAK_KEY, *([password] if password else [])]
    logs = {
        path.name: path.read_text(errors="replace") for path in Path(secured.workdir).glob("*.log")
    }
    logs["refused settings"] = refused.stdout + refused.stderr
    assert set(logs) >= {"worker.log", "projector.log", "auditor.log", "api.log"}
    assert "dead-lettered" in logs["worker.log"]
    if log_format == "json":
        for name in ("worker.log", "projector.log", "auditor.log", "api.log"):
            lines = [json.loads(line) for line in logs[name].splitlines() if line.strip()]
            assert all(
                {"time", "level", "part", "logger", "message"} <= set(line) for line in lines
            )
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}…) is in the {name}"
