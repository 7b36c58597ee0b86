"""Poison on the input topics: every bad record lands in `alerts.dlq` with its reason and its
source, every good alert around it is folded, and the worker keeps running."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.waiting import eventually
from tests.support.product import Product, running_product

pytestmark = pytest.mark.integration

ONE_MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class Poison:
    name: str
    topic: str
    value: bytes | None
    reason: str  # a phrase the dead letter's reason must contain


@pytest.fixture
def product(kafka_bootstrap_servers: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(kafka_bootstrap_servers, tmp_path) as product:
        yield product


def good_alert(channel: str, n: int) -> bytes:
    alert = {"slackChannelId": channel, "correlationId": f"good-{n}", "header": f"good {n}"}
    return json.dumps(alert).encode()


def poisons(channel: str) -> list[Poison]:
    def alert(**fields: Any) -> bytes:
        return json.dumps({"slackChannelId": channel, "header": "poison", **fields}).encode()

    return [
        Poison(
            "invalid JSON", "alerts", b'{"slackChannelId": "' + channel.encode(), "not valid JSON"
        ),
        Poison(
            "an array", "alerts", b'[{"header": "in a list"}]', "expected a JSON object, got list"
        ),
        Poison("a number", "alerts", b"42", "expected a JSON object, got int"),
        Poison("severity 7", "alerts", alert(severity=7), "severity"),
        Poison(
            "1 MB of wrong type",
            "alerts",
            alert(text=["x" * ONE_MEGABYTE]),
            "text",
        ),
        Poison(
            "unknown schema_version",
            "alerts",
            json.dumps({"type": "alert", "schema_version": 2, "alert": {}}).encode(),
            "unknown schema_version 2",
        ),
        Poison("an empty value", "alerts", b"", "empty value"),
        Poison("a tombstone", "alerts", None, "empty value"),
        Poison(
            "a tick without a time",
            "ticks",
            b'{"type": "tick", "schema_version": 1, "at": "soon"}',
            "not an RFC 3339 timestamp",
        ),
        Poison(
            "an interaction of no kind",
            "interactions",
            b'{"type": "interaction", "schema_version": 1, "kind": 5}',
            "invalid interaction",
        ),
    ]


def dead_letters(product: Product, channel: str) -> list[dict[str, Any]]:
    key = base64.b64encode(channel.encode()).decode()
    letters = [json.loads(r.value) for r in product.records("alerts.dlq")]
    return [letter for letter in letters if letter["key_base64"] == key]


def folded_correlations(product: Product, channel: str) -> set[str]:
    events = [json.loads(r.value) for r in product.records("issue-events")]
    return {e["correlation_id"] for e in events if e["channel_id"] == channel}


def source_value(product: Product, source: dict[str, Any]) -> bytes | None:
    """The bytes at the letter's source position, read back from the source topic."""
    name = source["topic"].removeprefix(product.prefix)
    for record in product.records(name):
        if (record.partition, record.offset) == (source["partition"], source["offset"]):
            return record.value  # type: ignore[no-any-return]
    raise AssertionError(f"no record at {source}")


def test_poison_goes_to_the_dead_letter_topic_and_every_good_alert_is_folded(
    product: Product,
) -> None:
    channel = f"CP{uuid.uuid4().hex[:8].upper()}"
    bad = poisons(channel)
    for n, poison in enumerate(bad):
        product.produce("alerts", good_alert(channel, n), key=channel.encode())
        product.produce(poison.topic, poison.value, key=channel.encode())
    product.produce("alerts", good_alert(channel, len(bad)), key=channel.encode())

    expected = {f"good-{n}" for n in range(len(bad) + 1)}

    def all_good_folded() -> bool:
        product.check_alive()
        return expected <= folded_correlations(product, channel)

    def all_dead_lettered() -> list[dict[str, Any]] | None:
        product.check_alive()
        found = dead_letters(product, channel)
        return found if len(found) >= len(bad) else None

    eventually(all_good_folded, timeout=60, what="every good alert folded")
    letters = eventually(all_dead_lettered, timeout=60, what=f"{len(bad)} dead letters")
    product.check_alive()

    assert len(letters) == len(bad)
    for poison in bad:
        topic = product.topic(poison.topic)
        matching = [
            letter
            for letter in letters
            if letter["source"]["topic"] == topic and _original(letter) == poison.value
        ]
        assert len(matching) == 1, f"{poison.name}: {len(matching)} dead letters"
        letter = matching[0]
        assert poison.reason in letter["reason"], f"{poison.name}: {letter['reason']!r}"
        assert letter["type"] == "alert.dead_lettered"
        assert source_value(product, letter["source"]) == poison.value, poison.name
    assert folded_correlations(product, channel) == expected


def _original(letter: dict[str, Any]) -> bytes | None:
    encoded = letter["value_base64"]
    return None if encoded is None else base64.b64decode(encoded)
