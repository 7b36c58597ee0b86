"""Which channel an alert belongs to: the key of everything downstream."""

from __future__ import annotations

from domain.alert import Alert
from domain.alert_limits import MAX_SLACK_CHANNEL_ID_LENGTH, SLACK_CHANNEL_ID_OR_NAME
from domain.errors import NoChannel
from domain.routing import RouteTable


def channel_for(alert: Alert, routes: RouteTable, path_channel: str | None = None) -> str:
    """Slack Manager's order: the alert's own channel, then the URL's, then its route key."""
    if alert.slack_channel_id:
        return alert.slack_channel_id
    if path_channel:
        check_channel_id(path_channel)
        return path_channel.strip().upper()
    if alert.route_key:
        return routes.resolve(alert.route_key, alert.type or "").upper()
    raise NoChannel("alert has no slackChannelId and no routeKey, and the URL names no channel")


def check_channel_id(channel: str) -> None:
    if not SLACK_CHANNEL_ID_OR_NAME.match(channel.strip()):
        raise NoChannel(
            f"{channel!r} is not a channel id or name "
            f"([0-9A-Za-z_-]{{1,{MAX_SLACK_CHANNEL_ID_LENGTH}}})"
        )
