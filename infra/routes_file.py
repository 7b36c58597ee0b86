"""Routing rules for `routeKey`, read from the JSON file named by ALERTFOLD_ROUTES_FILE."""

from __future__ import annotations

import json
from pathlib import Path

from domain.errors import InvalidRouteTable
from domain.routing import RouteTable
from infra.settings import SettingsError


def load_routes(path: Path) -> RouteTable:
    """A JSON array of Slack Manager style rules (`name`, `equals`, `hasPrefix`, …, `channel`)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SettingsError(f"ALERTFOLD_ROUTES_FILE={path}: cannot read JSON: {error}") from None
    try:
        return RouteTable.from_json_obj(obj)
    except InvalidRouteTable as error:
        raise SettingsError(f"ALERTFOLD_ROUTES_FILE={path}: {error}") from None
