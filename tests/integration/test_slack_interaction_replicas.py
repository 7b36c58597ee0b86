"""Two `alertfold interactions` processes on one Slack app: each act folded exactly once.

Slack spreads an app's envelopes over its open Socket Mode connections, one per process, and
sends an Events API envelope (a reaction) again, possibly to another connection, when it was
not acknowledged within 3 s; a button click or a slash command is sent once. So when one
gateway stalls (SIGSTOP) or dies mid-stream, its reactions reach the other as retries, and a
stalled one may still store them when it wakes: the fold recognises the repeat by its
interaction id (derived from the envelope) and drops it. Every act shows once among the
issue's events, none is lost, and nobody is told that what they did was done already.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SlackLimits
from harness.slack_socket_mode import SocketModeStandIn, socket_mode_stand_in
from harness.waiting import eventually
from tests.support.product import Product, running_product
from tests.support.slack_product import message_posted, slack_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

SLACK_TS = "1795426000.000100"
SEEN_AGAIN_TS = "1795426999.000100"  # a later post: folded after anything sent before it
ACT_EVENTS = {"IssueAcknowledged", "IssueResolvedByHand", "InvestigationStarted", "IssueMuted"}
GATEWAYS = ("interactions-1", "interactions-2")


@dataclass
class Act:
    """One envelope acting on one issue, and the interaction id it must fold as."""

    issue_id: str
    envelope_type: str
    payload: dict[str, Any]
    interaction_id: str
    envelope_id: str = ""


@pytest.fixture(scope="module")
def web_api() -> Iterator[SlackWebApiServer]:
    with running_slack_server(set(), limits=SlackLimits.none()) as server:
        yield server


@pytest.fixture(scope="module")
def slack(web_api: SlackWebApiServer) -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in(web_api) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def product(
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
    slack: SocketModeStandIn,
) -> Iterator[Product]:
    workdir: Path = tmp_path_factory.mktemp("replicas")
    with running_product(kafka_bootstrap_servers, workdir, **slack_settings(slack)) as product:
        yield product


@pytest.fixture
def gateways(product: Product, slack: SocketModeStandIn) -> Iterator[tuple[int, int]]:
    """Two gateway processes, connected; their connection numbers, in `GATEWAYS` order."""
    opened = slack.connections_opened
    numbers = []
    for n, name in enumerate(GATEWAYS, 1):
        product.start("interactions", name)
        slack.wait_for_connection(opened + n, at_once=n, timeout=60)
        numbers.append(opened + n)
    try:
        yield numbers[0], numbers[1]
    finally:
        for name in GATEWAYS:
            if name in product.processes:
                product.signal(name, signal.SIGCONT)
                product.stop(name)


def posted_issues(product: Product, count: int) -> list[dict[str, Any]]:
    """Open issues, each in a channel of its own, whose Slack message is known."""
    channels = [f"C{uuid.uuid4().hex[:8].upper()}" for _ in range(count)]
    for channel in channels:
        body = {"slackChannelId": channel, "correlationId": "db", "header": "Database down"}
        assert product.post("/alert", body).status_code == 202
    opened = [product.wait_for_issue(channel_id=c, status="open") for c in channels]
    return [message_posted(product, issue, SLACK_TS) for issue in opened]


REACTIONS = {0: "eyes", 3: "white_check_mark", 4: "mask"}  # by place in a round of five


def acts_on(issues: list[dict[str, Any]]) -> list[Act]:
    """On each issue in turn: a reaction, a button, a command, two other reactions. A round
    of five, so that each kind reaches each of the two gateways."""
    acts = []
    for n, issue in enumerate(issues):
        channel, user = issue["channel_id"], f"U0USER{n}"
        if n % 5 in REACTIONS:
            event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
            event = {
                "type": "reaction_added",
                "user": user,
                "reaction": REACTIONS[n % 5],
                "item": {"type": "message", "channel": channel, "ts": SLACK_TS},
                "event_ts": f"1795426100.{n:06d}",
            }
            payload = {"event_id": event_id, "event": event}
            acts.append(Act(issue["id"], "events_api", payload, f"event/{event_id}"))
        elif n % 5 == 1:
            action_ts = f"1795426200.{n:06d}"
            payload = {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "name": user},
                "container": {"channel_id": channel, "message_ts": SLACK_TS},
                "actions": [
                    {
                        "action_id": "alertfold:acknowledge",
                        "value": issue["id"],
                        "action_ts": action_ts,
                    }
                ],
            }
            acts.append(Act(issue["id"], "interactive", payload, f"action/{user}/{action_ts}"))
        else:
            trigger = f"{n}.{uuid.uuid4().int % 10**12}"
            payload = {
                "channel_id": channel,
                "user_id": user,
                "text": f"resolve {issue['id']}",
                "trigger_id": trigger,
            }
            acts.append(Act(issue["id"], "slash_commands", payload, f"command/{trigger}"))
    return acts


def told(slack: SocketModeStandIn, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the users acting on these issues were told (each issue has a channel of its own)."""
    channels = {issue["channel_id"] for issue in issues}
    return [e for e in slack.ephemerals if e.get("channel") in channels]


def send(slack: SocketModeStandIn, acts: list[Act]) -> None:
    for act in acts:
        act.envelope_id = slack.send(act.envelope_type, act.payload)


def act_events(product: Product, issue_ids: set[str]) -> dict[str, list[str]]:
    """Each issue's act events, by interaction id."""
    folded: dict[str, list[str]] = {}
    for record in product.records("issue-events"):
        event = json.loads(record.value)
        if event["issue_id"] in issue_ids and event["type"] in ACT_EVENTS:
            folded.setdefault(event["data"]["interaction_id"], []).append(event["type"])
    return folded


def every_act_folded(product: Product, acts: list[Act]) -> dict[str, list[str]]:
    def probe() -> dict[str, list[str]] | None:
        product.check_alive()
        folded = act_events(product, {a.issue_id for a in acts})
        return folded if all(a.interaction_id in folded for a in acts) else None

    return eventually(probe, timeout=90, what="every act among the issues' events")


def every_act_in_view(product: Product, issues: list[dict[str, Any]], acts: list[Act]) -> None:
    """Until the lookup view shows each act's issue changed since it was posted."""
    posted = {issue["id"]: issue["version"] for issue in issues}
    for act in acts:
        eventually(
            lambda act=act: (
                product.get(f"/issues/{act.issue_id}").json()["version"] > posted[act.issue_id]
            ),
            timeout=60,
            what=f"{act.interaction_id} in the view",
        )


def seen_again(product: Product, issues: list[dict[str, Any]]) -> None:
    """Every interaction put on a channel so far has been folded: one posted after it has."""
    for issue in issues:
        message_posted(product, issue, SEEN_AGAIN_TS)


def test_a_stalled_gateway_s_reactions_are_taken_by_the_other_and_each_act_folds_once(
    product: Product, slack: SocketModeStandIn, gateways: tuple[int, int]
) -> None:
    stalled, live = gateways
    issues = posted_issues(product, 20)
    acts = acts_on(issues)
    send(slack, acts[:10])
    every_act_folded(product, acts[:10])

    product.signal(GATEWAYS[0], signal.SIGSTOP)
    send(slack, acts[10:])
    events = [a for a in acts[10:] if a.envelope_type == "events_api"]
    for act in events:
        slack.wait_for_ack(act.envelope_id, timeout=60)  # the retries, by the live one
    every_act_in_view(product, issues, events)
    product.signal(GATEWAYS[0], signal.SIGCONT)  # wakes to envelopes the view shows done
    eventually(
        lambda: all(slack.answered(a.envelope_id) for a in acts),
        timeout=60,
        what="every delivery answered, the stalled gateway's late ones too",
    )
    seen_again(product, issues)

    assert any(slack.delivered_to(a.envelope_id)[:2] == [stalled, live] for a in events)
    folded = every_act_folded(product, acts)
    assert {act: len(types) for act, types in folded.items()} == {a.interaction_id: 1 for a in acts}
    assert told(slack, issues) == []


def test_a_killed_gateway_s_reactions_are_folded_once_by_the_other(
    product: Product, slack: SocketModeStandIn, gateways: tuple[int, int]
) -> None:
    killed, live = gateways
    issues = posted_issues(product, 12)
    acts = acts_on(issues)
    send(slack, acts[:6])
    every_act_folded(product, acts[:6])

    product.signal(GATEWAYS[0], signal.SIGSTOP)  # dies with envelopes it got unanswered
    send(slack, acts[6:])
    product.stop(GATEWAYS[0], signal.SIGKILL)
    eventually(
        lambda: all(a.envelope_id in slack.acks or a.envelope_id in slack.failed for a in acts),
        timeout=60,
        what="every envelope acknowledged or given up on",
    )
    events = [a for a in acts if a.envelope_type == "events_api"]
    assert all(a.envelope_id in slack.acks for a in events)
    assert any(slack.delivered_to(a.envelope_id)[:2] == [killed, live] for a in events)
    lost = [a for a in acts if a.envelope_id in slack.failed]  # Slack told those users
    assert all(slack.delivered_to(a.envelope_id) == [killed] for a in lost)

    kept = [a for a in acts if a not in lost]
    folded = every_act_folded(product, kept)
    assert {act: len(types) for act, types in folded.items()} == {a.interaction_id: 1 for a in kept}
    assert told(slack, issues) == []
