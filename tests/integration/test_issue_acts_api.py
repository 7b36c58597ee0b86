"""Acting on issues over HTTP against the running product: the fold applies each act as it
applies Slack's, and an act that no longer applies is refused with the reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.product import Product

pytestmark = pytest.mark.integration

ANONYMOUS = {"kind": "api", "id": "web:anonymous", "name": "web:anonymous"}


def opened(product: Product, **fields: Any) -> dict[str, Any]:
    channel = f"CACT{uuid.uuid4().hex[:8].upper()}"
    alert = {
        "slackChannelId": channel,
        "correlationId": "db-down",
        "header": "Database down",
        "severity": "error",
        "issueFollowUpEnabled": True,
        **fields,
    }
    assert product.post("/alert", alert).status_code == 202
    return product.wait_for_issue(channel_id=channel, correlation_id="db-down")


def act(product: Product, issue: dict[str, Any], name: str, body: Any = None) -> Any:
    return product.post(f"/issues/{issue['id']}/{name}", body)


def test_acknowledge_resolve_and_reopen_are_folded_with_the_operator_as_actor(
    sqlite_product: Product,
) -> None:
    issue = opened(sqlite_product)
    answer = act(sqlite_product, issue, "acknowledge")
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"].startswith("web/")
    sqlite_product.wait_for_issue(id=issue["id"], acknowledged_by=ANONYMOUS)
    again = act(sqlite_product, issue, "acknowledge")
    assert again.status_code == 409
    assert "acknowledged already, by web:anonymous" in again.json()["error"]
    assert act(sqlite_product, issue, "resolve").status_code == 202
    sqlite_product.wait_for_issue(id=issue["id"], status="resolved", resolved_by=ANONYMOUS)
    assert act(sqlite_product, issue, "reopen").status_code == 202
    sqlite_product.wait_for_issue(id=issue["id"], status="open", resolved_by=None)


def test_silencing_an_issue_sets_a_silence_the_fold_applies(sqlite_product: Product) -> None:
    issue = opened(sqlite_product)
    answer = act(sqlite_product, issue, "silence", {"duration_seconds": 600, "comment": "swap"})
    assert answer.status_code == 202, answer.text
    silenced = sqlite_product.wait_for_issue(id=issue["id"], silence_id=answer.json()["accepted"])
    assert silenced["silenced_until"] is not None


def test_moving_an_issue_takes_it_to_the_other_channel(sqlite_product: Product) -> None:
    issue = opened(sqlite_product)
    target = f"CMOV{uuid.uuid4().hex[:8].upper()}"
    answer = act(sqlite_product, issue, "move", {"channel_id": target, "reason": "wrong team"})
    assert answer.status_code == 202, answer.text
    sqlite_product.wait_for_issue(id=issue["id"], channel_id=target)
    refused = act(sqlite_product, issue, "move", {"channel_id": target})
    assert (refused.status_code, refused.json()["error"]) == (
        409,
        f"issue {issue['id']} is in {target} already",
    )


def test_an_unknown_issue_is_404_and_a_bad_body_400(sqlite_product: Product) -> None:
    assert sqlite_product.post("/issues/no-such-issue/resolve").status_code == 404
    issue = opened(sqlite_product)
    bad = act(sqlite_product, issue, "silence", {"duration_seconds": 60, "ends_at": "2030-01-01"})
    assert bad.status_code == 400
