"""The Slack storm: 10,000 alerts for 100 issues in one channel, shown through a local Slack.

The product's worker, projector, API and presenter run as in production (clock on, the
presenter at its defaults: `ALERTFOLD_SLACK_CALLS_PER_SECOND=1` per channel and 50 calls a
minute of each Tier 3 method for the workspace), the presenter posting through slack_sdk to
the Slack Web API stand-in of the tests (`harness/slack_server.py`) with Slack's published
rate limits and Block Kit checks. The alerts go through `POST /alerts` in batches of 100 as fast
as the API takes them, round-robin over the issues, so every issue changes until the very end
of the storm. One client posts them one batch after another: the API stamps each request with
the time it arrived and the fold drops an alert stamped before the issue's latest as stale, so
concurrent requests could lose alerts and no issue would reach its expected count. Follow-up
is on, as for alerts that are tracked to resolution: fire-and-forget issues are archived 30 s
after their last alert, which would end the storm's messages early.

Done means every issue of the channel is in the lookup view with all its alerts, and its one
message in the stand-in shows exactly what `render_issue` makes of the view's snapshot (text
and attachments, as the presenter tests compare them); the view is polled every half second,
so that time is late by up to that much. Calls are counted and timed by the stand-in itself.

A new presenter consumer group starts at the end of `issue-events`, so the storm waits for the
presenter to show a warm-up issue in another channel first: from then on it misses nothing.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.context import BenchContext
from bench.figures import Figure, Target
from domain.issue_state import IssueSnapshot
from gateways.slack.blocks import issue_id_of, render_issue
from harness.product import Product
from harness.slack_server import SlackWebApiServer, running_slack_server
from harness.slack_server_workspace import SLACK_PER_CHANNEL, SLACK_PER_METHOD, SlackCall
from harness.waiting import eventually

CHANNEL = "CSTORM0001"
WARM_CHANNEL = "CSTORMWARM"
CALLS_PER_SECOND = 1.0  # the product's default
BATCH = 100
POLL_S = 0.5
# Calls are timed where they arrive, after the client's own latency, which varies by a few
# milliseconds: calls paced at exactly 1 s may arrive 0.99 s apart. Windows are this much
# shorter than a second so that jitter is not counted as a second call.
JITTER_S = 0.05


@dataclass(frozen=True)
class Storm:
    alerts: int
    issues: int

    @property
    def per_issue(self) -> int:
        return self.alerts // self.issues

    def bodies(self) -> list[bytes]:
        """`POST /alerts` bodies of `BATCH` alerts, encoded before the clock starts."""
        alerts = [_alert(index, index % self.issues, CHANNEL) for index in range(self.alerts)]
        return [json.dumps(alerts[s : s + BATCH]).encode() for s in range(0, self.alerts, BATCH)]


@dataclass(frozen=True)
class Outcome:
    accepted_at: float  # time.monotonic() when the last POST was answered 202
    exact_at: float  # time.monotonic() when every message was seen exact
    exact: int
    calls: list[SlackCall]


def run(ctx: BenchContext) -> list[Figure]:
    storm = Storm(alerts=ctx.size(10_000, 1_000), issues=ctx.size(100, 10))
    with running_slack_server({CHANNEL, WARM_CHANNEL}) as slack:
        env = {
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_API_URL": slack.url,
            "ALERTFOLD_SLACK_CALLS_PER_SECOND": f"{CALLS_PER_SECOND:g}",
        }
        with ctx.product("storm", **env) as product:
            for part in ("worker", "projector", "api", "presenter"):
                product.start(part)
            _warm_up(ctx, product, slack)
            ctx.say(f"posting {storm.alerts:,} alerts for {storm.issues} issues into {CHANNEL}")
            bodies = storm.bodies()
            progress = ctx.progress("accepted", storm.alerts)
            accepted_at = _post_all(product.api_url, bodies, progress)
            ctx.say("waiting for every message to show its issue's last state")
            exact_at, exact = _until_exact(ctx, product, slack, storm)
            product.check_alive()
        calls = slack.calls(channel=CHANNEL)
    return _figures(ctx, storm, Outcome(accepted_at, exact_at, exact, calls))


def _alert(index: int, issue: int, channel: str, kind: str = "storm") -> dict[str, Any]:
    return {
        "slackChannelId": channel,
        "correlationId": f"{kind}-{issue}",
        "header": "Disk almost full",
        "text": f"/var is {50 + index % 50}% full on host-{issue} (alert {index})",
        "severity": "error",
        "issueFollowUpEnabled": kind == "storm",
    }


def _warm_up(ctx: BenchContext, product: Product, slack: SlackWebApiServer) -> None:
    """Post warm-up alerts, a new issue every 10 s, until the presenter shows one."""
    ctx.say("warming up until the presenter shows an issue")

    def shown() -> bool:
        product.check_alive()
        return bool(slack.messages(WARM_CHANNEL))

    with httpx.Client(timeout=30) as http:
        for attempt in range(12):
            body = json.dumps([_alert(0, attempt, WARM_CHANNEL, "warm-up")]).encode()
            _post(http, product.api_url, body)
            try:
                eventually(shown, timeout=10, what="the warm-up message")
                return
            except AssertionError:
                continue
    raise AssertionError("the presenter showed no warm-up issue in 120 s")


def _post(http: httpx.Client, url: str, body: bytes) -> None:
    response = http.post(
        f"{url}/alerts", content=body, headers={"content-type": "application/json"}
    )
    if response.status_code != 202:
        raise AssertionError(f"POST /alerts answered {response.status_code}: {response.text}")


def _post_all(url: str, bodies: list[bytes], progress: Callable[[int], None]) -> float:
    """Post every body in order, each after the previous was accepted; when the last was."""
    accepted = 0
    with httpx.Client(timeout=60) as http:
        for body in bodies:
            _post(http, url, body)
            accepted += len(json.loads(body))
            progress(accepted)
    return time.monotonic()


def _until_exact(
    ctx: BenchContext, product: Product, slack: SlackWebApiServer, storm: Storm
) -> tuple[float, int]:
    """Poll the view and the stand-in until every message is exact, or give up: when the
    last poll ran, and how many messages were exact then."""
    progress = ctx.progress("messages exact", storm.issues)
    # Posts and updates take a turn each at the channel's rate, plus the fold's own time.
    deadline = time.monotonic() + 300 + 4 * storm.issues / CALLS_PER_SECOND + storm.alerts / 20
    exact = 0
    with httpx.Client(timeout=30) as http:
        while exact < storm.issues and time.monotonic() < deadline:
            time.sleep(POLL_S)
            product.check_alive()
            exact = _exact(http, product.api_url, slack, storm)
            progress(exact)
    if exact < storm.issues:
        ctx.say(f"gave up: {exact} of {storm.issues} messages exact")
    return time.monotonic(), exact


def _exact(http: httpx.Client, url: str, slack: SlackWebApiServer, storm: Storm) -> int:
    """How many issues have all their alerts in the view and their message showing it."""
    response = http.get(f"{url}/issues", params={"channel_id": CHANNEL, "limit": 1000})
    response.raise_for_status()
    issues = [IssueSnapshot.model_validate(view) for view in response.json()["issues"]]
    messages = {issue_id_of(m.metadata): m for m in slack.messages(CHANNEL)}
    exact = 0
    for issue in issues:
        message = messages.get(issue.id)
        rendered = render_issue(issue)
        exact += (
            issue.alert_count == storm.per_issue
            and message is not None
            and message.text == rendered.text
            and message.attachments == rendered.attachments()
        )
    return exact


def max_in_window(times: list[float], window: float) -> int:
    """The most calls whose arrival times fall within `window` seconds of the first of them."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def _figures(ctx: BenchContext, storm: Storm, outcome: Outcome) -> list[Figure]:
    calls = outcome.calls
    times = [c.at for c in calls]
    # Issue messages carry metadata; the one note telling the channel its updates are held
    # back does not.
    posted = [c for c in calls if c.method == "chat.postMessage" and c.ok]
    posts = [c for c in posted if c.payload.get("metadata")]
    gaps = [b - a for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
    setup = {
        "alerts": storm.alerts,
        "issues": storm.issues,
        "channels": 1,
        "calls_per_second": CALLS_PER_SECOND,
        "calls_by_method": dict(Counter(c.method for c in calls)),
        "held_back_notes": len(posted) - len(posts),
        "rate_limited_answers": sum(c.status == 429 for c in calls),
        "rate_limited_by_method": dict(Counter(c.method for c in calls if c.status == 429)),
        "failed_answers": sum(not c.ok for c in calls),
        "calls_after_last_accepted": sum(t > outcome.accepted_at for t in times),
        "max_calls_in_1s_strict": max_in_window(times, 1.0),
        "min_gap_between_calls_s": round(min(gaps), 3) if gaps else None,
        "gaps_under_1s_less_jitter": sum(gap < 1.0 - JITTER_S for gap in gaps),
        "stand_in_limits": _limits_text(),
        "parts": "worker, projector, api (SQLite), presenter; clock on",
        "partitions": ctx.partitions,
    }
    window = 1.0 - JITTER_S
    # Every issue exact means every issue has a message, so at most one post each is exactly one.
    return [
        Figure(
            "storm",
            "Slack posts (one per issue)",
            len(posts),
            "posts",
            Target(storm.issues, False),
            setup,
        ),
        Figure("storm", "Slack calls in the channel", len(calls), "calls", None, setup),
        Figure(
            "storm",
            "most Slack calls in any 1 s window",
            max_in_window(times, window),
            "calls",
            Target(CALLS_PER_SECOND, False),
            setup,
        ),
        Figure(
            "storm",
            "last alert accepted → all messages exact",
            outcome.exact_at - outcome.accepted_at,
            "s",
            None,
            setup,
        ),
        Figure(
            "storm", "messages exact", outcome.exact, "messages", Target(storm.issues, True), setup
        ),
    ]


def _limits_text() -> str:
    limits = {**SLACK_PER_CHANNEL, **SLACK_PER_METHOD}
    return ", ".join(
        f"{method} {limit.per_second:.2g}/s burst {limit.burst}"
        + (" per channel" if method in SLACK_PER_CHANNEL else "")
        for method, limit in limits.items()
    )
