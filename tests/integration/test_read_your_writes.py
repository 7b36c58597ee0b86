"""The views over HTTP with the product's own processes: reading one's own writes with the
202's `after`, without sleeps, and the query parameters people ask with."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.product import Product

pytestmark = pytest.mark.integration


def alert(channel: str, correlation: str, **fields: Any) -> dict[str, Any]:
    return {
        "slackChannelId": channel,
        "correlationId": correlation,
        "header": "Database down",
        "text": "primary does not answer",
        "severity": "error",
        **fields,
    }


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:8].upper()}"


def test_the_202_names_where_each_alert_went(sqlite_product: Product) -> None:
    channels = [new_channel(), new_channel()]
    answer = sqlite_product.post("/alerts", [alert(c, "db") for c in channels]).json()
    assert answer["accepted"] == 2
    assert [sorted(p) for p in answer["positions"]] == [["offset", "partition"]] * 2
    marks = dict(part.split(":") for part in answer["after"].split(","))
    for position in answer["positions"]:
        assert int(marks[str(position["partition"])]) >= position["offset"]


def test_a_view_asked_after_the_202_shows_the_alert_at_once(product: Product) -> None:
    channel = new_channel()
    after = product.post("/alert", alert(channel, "db")).json()["after"]
    listed = product.get("/issues", channel_id=channel, after=after, wait_ms=10_000).json()
    assert [i["correlation_id"] for i in listed["issues"]] == ["db"]

    after = product.post("/alert", alert(channel, "db", text="still")).json()["after"]
    issue_id = listed["issues"][0]["id"]
    issue = product.get(f"/issues/{issue_id}", after=after, wait_ms=10_000)
    assert issue.json()["alert_count"] == 2
    counts = product.get("/issues/counts", channel_id=channel, after=after, wait_ms=10_000)
    assert counts.json()["open"] == 1


def test_a_mark_the_view_has_not_reached_is_a_504_when_the_wait_runs_out(
    sqlite_product: Product,
) -> None:
    response = sqlite_product.get("/issues", after="0:999999999", wait_ms=50)
    assert response.status_code == 504
    assert "0:999999999" in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"after": "three:1"}, "after"),
        ({"wait_ms": "60000"}, "wait_ms"),
        ({"status": "closed"}, "status"),
        ({"sort": "name"}, "sort"),
        ({"filter": "team"}, "filter"),
        ({"filter": 'team=~"("'}, "filter"),
        ({"since": "yesterday"}, "since"),
        ({"cursor": "nonsense"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    sqlite_product: Product, params: dict[str, str], named: str
) -> None:
    response = sqlite_product.get("/issues", **params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{named}:")


def test_filters_sorts_and_pages_over_http(sqlite_product: Product) -> None:
    channel = new_channel()
    answer = sqlite_product.post(
        "/alerts",
        [
            alert(channel, "a", header="Database down", severity="panic"),
            alert(channel, "b", header="Disk full", severity="warning"),
            alert(channel, "c", header="Database slow", severity="error"),
        ],
    ).json()
    wait = {"after": answer["after"], "wait_ms": "10000"}

    def correlations(**params: Any) -> list[str]:
        page = sqlite_product.get("/issues", channel_id=channel, **wait, **params)
        return [i["correlation_id"] for i in page.json()["issues"]]

    assert correlations(q="database", sort="severity") == ["a", "c"]
    assert correlations(severity=["panic", "warning"], sort="severity", order="asc") == ["b", "a"]
    assert correlations(filter='severity=~"pan.*|warning"', sort="severity") == ["a", "b"]
    first = sqlite_product.get("/issues", channel_id=channel, sort="severity", limit=2).json()
    rest = sqlite_product.get(
        "/issues", channel_id=channel, sort="severity", limit=2, cursor=first["next_cursor"]
    ).json()
    assert [i["correlation_id"] for i in first["issues"] + rest["issues"]] == ["a", "c", "b"]
    assert rest["next_cursor"] is None
    counts = sqlite_product.get("/issues/counts", channel_id=channel).json()
    assert counts["by_severity"]["panic"]["open"] == 1
    assert counts["by_channel"][channel]["total"] == 3
