"""Moves and silences through the running product: worker, projector and API on Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.interactions import Actor, Interaction, InteractionKind
from harness.waiting import eventually
from tests.support.product import Product, running_product
from wire.interactions import encode_interaction

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("moves")
    with running_product(kafka_bootstrap_servers, workdir) as running:
        yield running


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:8].upper()}"


def alert(channel: str, correlation_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "slackChannelId": channel,
        "correlationId": correlation_id,
        "header": "Replication lag",
        "timestamp": datetime.now(UTC).isoformat(),
        "issueFollowUpEnabled": True,
        "autoResolveSeconds": 3600,
        **fields,
    }


def move(product: Product, issue: dict[str, Any], target: str) -> None:
    interaction = Interaction(
        interaction_id=f"test-move-{uuid.uuid4()}",
        kind=InteractionKind.MOVED,
        channel_id=issue["channel_id"],
        correlation_id=issue["correlation_id"],
        issue_id=issue["id"],
        at=datetime.now(UTC),
        actor=Actor(kind="slack_user", id="U0ADMIN", name="ana"),
        target_channel_id=target,
        reason="the database team owns it",
    )
    product.produce(
        "interactions", encode_interaction(interaction), key=issue["channel_id"].encode()
    )


def test_moved_issue_lives_in_the_new_channel_and_later_alerts_follow_it(
    product: Product,
) -> None:
    source, target = new_channel(), new_channel()
    assert product.post("/alert", alert(source, "lag")).status_code == 202
    opened = product.wait_for_issue(channel_id=source, correlation_id="lag")

    move(product, opened, target)
    moved = product.wait_for_issue(
        channel_id=target, correlation_id="lag", last_event_type="IssueArrived"
    )
    assert moved["id"] == opened["id"]

    assert product.post("/alert", alert(source, "lag", text="still lagging")).status_code == 202
    grown = product.wait_for_issue(channel_id=target, correlation_id="lag", alert_count=2)
    assert grown["id"] == opened["id"]
    assert product.issues(channel_id=source, status="open") == []

    mappings = product.get("/mappings", kind="move").json()
    mine = [m for m in mappings if m["channel_id"] == source]
    assert [(m["target_channel_id"], m["reason"]) for m in mine] == [
        (target, "the database team owns it")
    ]


def test_silence_set_through_the_api_silences_the_issue_until_expired(product: Product) -> None:
    channel = new_channel()
    assert product.post("/alert", alert(channel, "disk")).status_code == 202
    product.wait_for_issue(channel_id=channel, correlation_id="disk")

    body = {
        "matchers": [
            {"name": "slackChannelId", "value": channel},
            {"name": "correlationId", "value": "di.*", "isRegex": True},
        ],
        "duration_seconds": 3600,
        "created_by": "ana",
        "comment": "disk being replaced",
    }
    created = product.post("/silences", body)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["state"] == "active"

    silenced = product.wait_for_issue(channel_id=channel, silence_id=silence["id"])
    assert silenced["silenced_until"] == silence["ends_at"].replace("+00:00", "Z")
    listed = product.get("/silences", state="active").json()
    assert silence["id"] in [s["id"] for s in listed]

    expired = product.delete(f"/silences/{silence['id']}")
    assert expired.status_code == 200, expired.text
    assert expired.json()["state"] == "expired"
    product.wait_for_issue(channel_id=channel, correlation_id="disk", silence_id=None)


def test_new_alert_under_an_active_silence_opens_a_silenced_issue(product: Product) -> None:
    channel = new_channel()
    ends = datetime.now(UTC) + timedelta(hours=2)
    body = {
        "matchers": [{"name": "slackChannelId", "value": channel}],
        "endsAt": ends.isoformat(),
        "createdBy": "ana",
    }
    silence = product.post("/silences", body).json()
    assert product.post("/alert", alert(channel, "cpu")).status_code == 202
    issue = product.wait_for_issue(channel_id=channel, silence_id=silence["id"])
    assert issue["alert_count"] == 1


def test_silence_without_an_end_is_refused_with_the_reason(product: Product) -> None:
    body = {"matchers": [{"name": "severity", "value": "error"}], "created_by": "ana"}
    answer = product.post("/silences", body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "give exactly one of ends_at and duration_seconds"


def test_expiring_an_unknown_silence_is_not_found(product: Product) -> None:
    answer = product.delete("/silences/no-such-silence")
    assert answer.status_code == 404


def test_a_refold_of_moves_and_silences_is_identical_to_the_log(product: Product) -> None:
    source, target = new_channel(), new_channel()
    assert product.post("/alert", alert(source, "io")).status_code == 202
    opened = product.wait_for_issue(channel_id=source, correlation_id="io")
    body = {
        "matchers": [{"name": "slackChannelId", "value": source}],
        "duration_seconds": 600,
        "created_by": "ana",
    }
    assert product.post("/silences", body).status_code == 201
    eventually(
        lambda: product.issues(channel_id=source, correlation_id="io")[0]["silence_id"],
        timeout=60,
        what="the issue to be silenced",
    )
    move(product, opened, target)
    product.wait_for_issue(channel_id=target, correlation_id="io", last_event_type="IssueArrived")

    done = product.command("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("identical (")


def test_a_silence_longer_than_a_year_is_refused(product: Product) -> None:
    body = {
        "matchers": [{"name": "severity", "value": "error"}],
        "durationSeconds": 251_606_852_133,
        "createdBy": "ana",
    }
    answer = product.post("/silences", body)
    assert answer.status_code == 400
    assert (
        answer.json()["error"] == "durationSeconds: Input should be less than or equal to 31622400"
    )
