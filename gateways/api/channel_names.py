"""Channel names in an ingest request become channel ids before the alerts are admitted.

With a bot token, `#ops-alerts` or `ops-alerts` in an alert's `slackChannelId`, in the path,
or in an Alertmanager alert's channel annotation or label is looked up among the bot's
channels (`gateways.slack.channel_directory`), so everything stored is keyed by the id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.alertmanager import CHANNEL_KEYS
from gateways.api.errors import ApiError
from gateways.slack.channel_directory import (
    ChannelDirectory,
    ChannelsUnavailable,
    UnknownChannelName,
)

Places = Callable[[Any], list[tuple[dict[str, Any], str]]]


async def with_channel_ids(
    directory: ChannelDirectory, body: Any, path_channel: str | None, places: Places
) -> str | None:
    """Replace channel names by ids in the body (in place) and the path; the path's id."""
    try:
        for holder, key in places(body):
            holder[key] = await directory.resolve(holder[key])
        return await directory.resolve(path_channel) if path_channel else path_channel
    except UnknownChannelName as error:
        raise ApiError(400, f"slackChannelId: {error}") from None
    except ChannelsUnavailable as error:
        raise ApiError(
            503,
            f"Slack did not list its channels to resolve a name ({error})",
            headers={"Retry-After": "5"},
        ) from None


def alert_channels(body: Any) -> list[tuple[dict[str, Any], str]]:
    """Each Slack Manager alert's `slackChannelId`, in the three body shapes."""
    if isinstance(body, dict) and isinstance(body.get("alerts"), list):
        items = body["alerts"]
    else:
        items = body if isinstance(body, list) else [body]
    return [
        (item, "slackChannelId")
        for item in items
        if isinstance(item, dict) and _named(item.get("slackChannelId"))
    ]


def alertmanager_channels(body: Any) -> list[tuple[dict[str, Any], str]]:
    """Each Alertmanager alert's channel annotation or label."""
    alerts = body.get("alerts") if isinstance(body, dict) else None
    found: list[tuple[dict[str, Any], str]] = []
    for item in alerts if isinstance(alerts, list) else []:
        for part in ("annotations", "labels"):
            values = item.get(part) if isinstance(item, dict) else None
            if isinstance(values, dict):
                found.extend(
                    (values, key)
                    for key, value in values.items()
                    if key.lower() in CHANNEL_KEYS and _named(value)
                )
    return found


def _named(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
