"""The product with its Slack interactions part connected to the Socket Mode stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.interactions import Actor, Interaction, InteractionKind
from harness.slack_server import BOT_TOKEN
from harness.slack_socket_mode import APP_TOKEN, SocketModeStandIn
from tests.support.product import Product, running_product
from wire.interactions import encode_interaction


@contextmanager
def running_slack_product(
    bootstrap: str, workdir: Path, slack: SocketModeStandIn, **env: str
) -> Iterator[Product]:
    """`running_product` plus `alertfold interactions`, once its socket is connected."""
    with running_product(bootstrap, workdir, **{**slack_settings(slack), **env}) as product:
        product.start("interactions")
        slack.wait_for_connection()
        yield product


def slack_settings(slack: SocketModeStandIn) -> dict[str, str]:
    """What `alertfold interactions` needs to reach the stand-in as its Slack app."""
    return {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.url}


def message_posted(product: Product, issue: dict[str, Any], slack_ts: str) -> dict[str, Any]:
    """The issue once its Slack message is known, as after the presenter posted it."""
    posted = Interaction(
        interaction_id=f"posted/{issue['id']}/{slack_ts}",
        kind=InteractionKind.MESSAGE_POSTED,
        channel_id=issue["channel_id"],
        correlation_id=issue["correlation_id"],
        issue_id=issue["id"],
        at=datetime.now(UTC),
        actor=Actor(kind="alertfold", id="presenter"),
        slack_ts=slack_ts,
    )
    channel = issue["channel_id"].encode()
    product.produce("interactions", encode_interaction(posted), key=channel)
    return product.wait_for_issue(channel_id=issue["channel_id"], slack_ts=slack_ts)
