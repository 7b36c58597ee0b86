"""The ingest API's answers: what a client sees for good, bad and unstorable requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local_kafka import free_port
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration


def test_invalid_alert_is_rejected_with_field_level_problems(sqlite_product: Product) -> None:
    response = sqlite_product.post(
        "/alerts",
        [
            {"slackChannelId": "C1", "header": "ok"},
            {"slackChannelId": "C1", "header": "x", "severity": "bad", "link": "ftp://x"},
        ],
    )
    assert response.status_code == 400
    body = response.json()
    fields = {p["field"] for p in body["problems"]}
    assert {"alerts.1.severity", "alerts.1.link"} <= fields
    assert body["error"]


def test_bad_json_is_a_400_that_says_where(sqlite_product: Product) -> None:
    response = sqlite_product.post("/alert", content=b'{"header": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_empty_body_is_a_400(sqlite_product: Product) -> None:
    response = sqlite_product.post("/alert", content=b"")
    assert response.status_code == 400
    assert "empty body" in response.json()["error"]


def test_oversized_body_is_a_413(sqlite_product: Product) -> None:
    big = b'{"header": "' + b"x" * 2_000_000 + b'"}'
    response = sqlite_product.post("/alert", content=big)
    assert response.status_code == 413


def test_empty_list_is_a_204(sqlite_product: Product) -> None:
    assert sqlite_product.post("/alerts", []).status_code == 204


def test_alerts_ignored_by_their_text_are_a_204(sqlite_product: Product) -> None:
    body = {
        "slackChannelId": "C1",
        "header": "h",
        "text": "maintenance window",
        "ignoreIfTextContains": ["MAINTENANCE"],
    }
    assert sqlite_product.post("/alert", body).status_code == 204


def test_unknown_route_key_is_a_400(sqlite_product: Product) -> None:
    response = sqlite_product.post("/alert", {"routeKey": "payments", "header": "h"})
    assert response.status_code == 400
    assert "payments" in response.json()["error"]


def test_route_key_routes_to_the_configured_channel(
    kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.json"
    routes.write_text('[{"name": "payments", "hasPrefix": ["pay"], "channel": "C0PAYMENTS"}]')
    with running_product(
        kafka_bootstrap_servers, tmp_path / "routed", ALERTFOLD_ROUTES_FILE=str(routes)
    ) as product:
        assert product.get("/mappings").json()[0]["channel"] == "C0PAYMENTS"
        assert product.post("/alert", {"routeKey": "payments-eu", "header": "h"}).status_code == 202
        issue = product.wait_for_issue(channel_id="C0PAYMENTS")
        assert issue["header"] == "h"


def test_unreachable_broker_is_a_503_never_a_2xx(tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    product = Product(
        env={
            **__import__("os").environ,
            "KAFKA_BOOTSTRAP_SERVERS": dead,
            "ALERTFOLD_API_PORT": str(free_port()),
            "ALERTFOLD_DATA_DIR": str(tmp_path / "data"),
            "ALERTFOLD_TOPIC_PREFIX": "dead-",
        },
        workdir=tmp_path,
    )
    product.start("api")
    try:
        response = product.post("/alert", {"slackChannelId": "C1", "header": "h"})
        assert response.status_code == 503
        assert "Kafka" in response.json()["error"]
        health = product.get("/health")
        assert health.status_code == 503
        assert health.json()["broker"]["ok"] is False
    finally:
        product.stop("api")


def test_metrics_count_answers_by_route_template_and_alerts_by_outcome(
    sqlite_product: Product,
) -> None:
    sqlite_product.post("/alert/C0METRICS", {"header": "h"})
    sqlite_product.post("/alert", content=b"{")
    sqlite_product.wait_for_issue(channel_id="C0METRICS")
    sqlite_product.get("/issues/does-not-exist")

    response = sqlite_product.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'route="/alert/{channel}",status="202"}' in text
    assert 'alertfold_http_requests_total{method="POST",route="/alert",status="400"}' in text
    assert 'route="/issues/{issue_id}",status="404"}' in text
    accepted = next(
        line for line in text.splitlines() if line.startswith("alertfold_ingest_alerts_total")
    )
    assert float(accepted.rsplit(" ", 1)[1]) >= 1
    open_issues = next(
        line for line in text.splitlines() if line.startswith('alertfold_issues{status="open"}')
    )
    assert float(open_issues.rsplit(" ", 1)[1]) >= 1
