"""Reminders and the deduplication window through the product's own processes.

The worker, projector, API, presenter (slack_sdk against the Slack stand-in) and notifier (a
webhook channel that routes only reminders) run on the session's broker; `alertfold verify`
then re-folds what they logged. The worker's clock is off: the test's own clock ticks the
channel's partition twice a second with settings of seconds (the settings themselves take a
minute at least), as the worker's clock ticks with `ALERTFOLD_RESEND_INTERVAL` and
`ALERTFOLD_DEDUPLICATION_WINDOW`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.issue_table import partition_for_channel
from domain.alerting import AlertingSettings
from domain.interactions import Actor, Interaction, InteractionKind
from gateways.slack.blocks import issue_id_of
from harness.slack_server import BOT_TOKEN, SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackLimits, SlackMessage
from harness.waiting import eventually
from tests.support.notify_servers import HttpReceiver, running
from tests.support.product import Product, running_product
from wire.interactions import encode_interaction
from wire.ticks import encode_tick

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CHANNEL = f"CR{uuid.uuid4().hex[:8].upper()}"
INTERVAL = 2  # seconds between reminders
WINDOW = 3  # seconds of the deduplication window
PARTITIONS = 4  # the product's, as `running_product` makes it
SETTINGS = AlertingSettings(reminder_interval_seconds=INTERVAL, deduplication_window_seconds=WINDOW)


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackWebApiServer]:
    with running_slack_server({CHANNEL}, limits=SlackLimits.none()) as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    with running(HttpReceiver()) as server:
        yield server


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
    slack: SlackWebApiServer,
    receiver: HttpReceiver,
) -> Iterator[Product]:
    workdir = tmp_path_factory.mktemp("reminders")
    channel = {
        "id": "reminders",
        "name": "Reminders only",
        "target": {"kind": "webhook", "url": f"{receiver.url}/reminders"},
        "rule": {"kinds": ["reminded"]},
    }
    channels_file = workdir / "channels.json"
    channels_file.write_text(json.dumps({"channels": [channel]}))
    with running_product(
        kafka_bootstrap_servers,
        workdir,
        ALERTFOLD_TICK_SECONDS="0",
        ALERTFOLD_NOTIFICATION_CHANNELS_FILE=str(channels_file),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.url,
    ) as running_product_:
        running_product_.start("presenter")
        running_product_.start("notifier")
        stop = threading.Event()
        clock = threading.Thread(target=ticking, args=(running_product_, stop), daemon=True)
        clock.start()
        eventually(
            lambda: "slack presenter: consuming" in running_product_.log("presenter"),
            timeout=60,
            what="the presenter to consume",
        )
        eventually(
            lambda: opens_with_the_settings(running_product_),
            timeout=60,
            interval=0.5,
            what="the ticks to bring the settings",
        )
        try:
            yield running_product_
        finally:
            stop.set()
            clock.join(timeout=10)


def ticking(product: Product, stop: threading.Event) -> None:
    """The channel's partition's clock, with the settings, until `stop`."""
    partition = partition_for_channel(CHANNEL, PARTITIONS)
    while not stop.wait(0.5):
        product.produce("ticks", encode_tick(datetime.now(UTC), SETTINGS), partition=partition)


def opens_with_the_settings(product: Product) -> bool:
    """Whether a new (fire-and-forget) issue of the channel takes the ticks' settings: they
    reach the fold with the first tick, an alert before it opens without."""
    correlation_id = f"probe-{uuid.uuid4().hex[:8]}"
    post_alert(product, correlation_id)
    issue = product.wait_for_issue(channel_id=CHANNEL, correlation_id=correlation_id)
    [opened] = [e for e in events_of(product, issue["id"]) if e["type"] == "IssueOpened"]
    return bool(opened["data"]["reminder_interval_seconds"] == INTERVAL)


def post_alert(product: Product, correlation_id: str, **fields: Any) -> None:
    body = {
        "slackChannelId": CHANNEL,
        "correlationId": correlation_id,
        "header": "Database down",
        "text": "primary does not answer",
        **fields,
    }
    response = product.post("/alert", body)
    assert response.status_code == 202, response.text


def events_of(product: Product, issue_id: str) -> list[dict[str, Any]]:
    values = [json.loads(r.value) for r in product.records("issue-events")]
    return [v for v in values if v["issue_id"] == issue_id]


def message_of(slack: SlackWebApiServer, issue_id: str) -> SlackMessage | None:
    mine = [m for m in slack.messages(CHANNEL) if issue_id_of(m.metadata) == issue_id]
    assert len(mine) <= 1, f"{len(mine)} messages for {issue_id}"
    return mine[0] if mine else None


def acknowledge(product: Product, issue: dict[str, Any]) -> None:
    acknowledged = Interaction(
        interaction_id=f"ack/{issue['id']}",
        kind=InteractionKind.ACKNOWLEDGED,
        channel_id=CHANNEL,
        correlation_id=issue["correlation_id"],
        issue_id=issue["id"],
        at=datetime.now(UTC),
        actor=Actor(kind="slack_user", id="U0ALICE", name="Alice"),
    )
    product.produce("interactions", encode_interaction(acknowledged), key=CHANNEL.encode())


def reminded(product: Product, issue_id: str, times: int) -> list[dict[str, Any]] | None:
    found = [e for e in events_of(product, issue_id) if e["type"] == "IssueReminded"]
    return found if len(found) >= times else None


def test_a_reminder_replies_in_the_thread_and_reaches_the_channel_routing_reminders_until_an_ack(
    product: Product, slack: SlackWebApiServer, receiver: HttpReceiver
) -> None:
    post_alert(product, "db-down", issueFollowUpEnabled=True, autoResolveSeconds=3600)
    issue = product.wait_for_issue(channel_id=CHANNEL, correlation_id="db-down")
    message = eventually(lambda: message_of(slack, issue["id"]), timeout=60, what="the post")

    replies = eventually(
        lambda: slack.replies(CHANNEL, message.ts), timeout=60, what="a reminder in the thread"
    )
    assert replies[0].text.startswith(":alarm_clock: Reminder: still open")
    [delivery, *_] = eventually(
        lambda: [r.json() for r in receiver.requests if r.json()["issue"]["id"] == issue["id"]],
        timeout=60,
        what="the reminder's webhook",
    )
    assert (delivery["kind"], delivery["event"]["type"]) == ("reminded", "IssueReminded")

    acknowledge(product, issue)
    eventually(
        lambda: product.issues(channel_id=CHANNEL, correlation_id="db-down")[0]["acknowledged_by"],
        timeout=60,
        what="the acknowledgement",
    )
    # Another issue of the channel, opened after the acknowledgement and reminded twice:
    # the fold has passed two intervals of ticks since, in order with the first issue's.
    post_alert(product, "web-down", issueFollowUpEnabled=True, autoResolveSeconds=3600)
    later = product.wait_for_issue(channel_id=CHANNEL, correlation_id="web-down")
    eventually(lambda: reminded(product, later["id"], 2), timeout=60, what="two reminders")

    types = [e["type"] for e in events_of(product, issue["id"])]
    acked = types.index("IssueAcknowledged")
    assert "IssueReminded" in types[:acked] and "IssueReminded" not in types[acked:]
    assert message_of(slack, issue["id"]) is not None  # the one message, never posted again
    kinds = {r.json()["kind"] for r in receiver.requests}
    assert kinds == {"reminded"}


def test_a_fire_and_forget_repeat_counts_once_inside_the_window_and_again_after_it(
    product: Product,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)

    def at(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).isoformat()

    post_alert(product, "disk", timestamp=at(0))
    post_alert(product, "disk", timestamp=at(1))  # inside the window: not counted
    post_alert(product, "disk", timestamp=at(2), text="/var and /tmp")  # counted: a new window
    post_alert(product, "disk", timestamp=at(2 + WINDOW), text="/var and /tmp")  # after it

    def folded_all() -> dict[str, Any] | None:
        for issue in product.issues(channel_id=CHANNEL, correlation_id="disk"):
            stamp = datetime.fromisoformat(issue["last_alert"].get("timestamp", ""))
            if stamp == start + timedelta(seconds=2 + WINDOW):
                return issue
        return None

    issue = eventually(folded_all, timeout=60, what="the last alert to be folded")
    assert issue["alert_count"] == 3
    types = [e["type"] for e in events_of(product, issue["id"])]
    assert [t for t in types if t != "SlackMessagePosted"] == [
        "IssueOpened",
        "AlertGrouped",
        "AlertGrouped",
    ]


def test_verify_re_folds_reminders_and_repeats_identically(product: Product) -> None:
    done = product.command("verify", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("identical (")
