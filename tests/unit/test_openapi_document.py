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


def test_health_declares_its_503_with_the_same_body_as_its_200() -> None:
    responses = openapi_document()["paths"]["/health"]["get"]["responses"]
    assert set(responses) == {"200", "503"}
    for response in responses.values():
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Health"
        }
    health = openapi_document()["components"]["schemas"]["Health"]
    assert set(health["required"]) == {"status", "broker", "database"}


def test_every_ingest_route_describes_its_channel_parameter() -> None:
    paths = openapi_document()["paths"]
    ingest = [path for path in paths if path.startswith(("/alert", "/prometheus-alert"))]
    assert len(ingest) == 9  # /alert…, /prometheus-alert…, /alertmanager/webhook…
    for path in [*ingest, "/api/v2/alerts"]:
        [channel] = paths[path]["post"]["parameters"]
        assert channel["name"] == "channel"
        assert channel["in"] == ("path" if "{channel}" in path else "query")
        assert "Slack channel" in channel["description"], path
