"""The OpenAPI document shipped in docs/ is the one the API serves."""

from __future__ import annotations

import json
from pathlib import Path

from gateways.api.app import openapi_document

SHIPPED = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_shipped_openapi_document_matches_the_api() -> None:
    shipped = json.loads(SHIPPED.read_text())
    assert shipped == openapi_document(), (
        "docs/openapi.json is stale: regenerate it with `alertfold openapi > docs/openapi.json`"
    )


def test_openapi_document_lists_every_endpoint() -> None:
    paths = set(openapi_document()["paths"])
    assert {
        "/alert",
        "/alerts",
        "/alert/{channel}",
        "/alerts/{channel}",
        "/prometheus-alert",
        "/prometheus-alert/{channel}",
        "/issues",
        "/issues/{issue_id}",
        "/issues/{issue_id}/history",
        "/channels",
        "/mappings",
        "/ping",
        "/health",
        "/slack/events",
        "/slack/interactions",
        "/slack/commands",
        "/issues/{issue_id}/acknowledge",
        "/issues/{issue_id}/unacknowledge",
        "/issues/{issue_id}/resolve",
        "/issues/{issue_id}/reopen",
        "/issues/{issue_id}/silence",
        "/issues/{issue_id}/move",
        "/ui/",
        "/ui/issues/{issue_id}",
        "/ui/silences",
        "/ui/settings/notifications",
        "/ui/notifications/log",
    } <= paths
