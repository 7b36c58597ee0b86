"""Slack's side of alertfold (README "Metrics"): the presenter's calls, queues and 429s, and
the requests Slack sends (Socket Mode or HTTP mode).

Labels are Slack method names, outcomes, request types and channel ids (a workspace has a
bounded number of channels alertfold posts in); never an issue id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "alertfold_slack_calls_total",
    "Slack Web API calls of the presenter, by method and outcome: ok, rate_limited (429), "
    "unavailable (no answer, or Slack's 5xx) or rejected.",
    ["method", "outcome"],
)
CALL_SECONDS = Histogram(
    "alertfold_slack_call_duration_seconds",
    "Time a Slack Web API call of the presenter took, by method.",
    ["method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RATE_LIMITED = Counter(
    "alertfold_slack_rate_limited_total",
    "429s the presenter honoured, by method and what waits: channel (posts in one channel) "
    "or workspace (the method in every channel).",
    ["method", "scope"],
)
QUEUE_DEPTH = Gauge(
    "alertfold_slack_queue_depth",
    "Issues waiting to be shown (posted, updated or deleted) in a channel.",
    ["channel"],
)
QUEUE_OLDEST = Gauge(
    "alertfold_slack_queue_oldest_wait_seconds",
    "How long the longest-waiting issue of a channel has waited to be shown (0: none waits).",
    ["channel"],
)
WORKSPACE_WAITING = Gauge(
    "alertfold_slack_workspace_waiting_channels",
    "Channels waiting for a token of a method Slack limits per workspace (Tier 3).",
    ["method"],
)
HELD_NOTICES = Counter(
    "alertfold_slack_held_notices_total",
    "Messages telling a channel that Slack's rate limits hold its updates back.",
)
SOCKET_CONNECTED = Gauge(
    "alertfold_slack_socket_connected", "1 while the Socket Mode connection is open, else 0."
)
SOCKET_SESSIONS = Counter(
    "alertfold_slack_socket_sessions_total",
    "Socket Mode sessions opened (the first, then each reconnection).",
)
REQUESTS = Counter(
    "alertfold_slack_requests_total",
    "Requests from Slack, by mode (socket or http), type (events_api, interactive, "
    "slash_commands) and outcome: acknowledged, or unacknowledged (left for Slack to resend).",
    ["mode", "type", "outcome"],
)
INTERACTIONS = Counter(
    "alertfold_slack_interactions_total",
    "Acts on issues from Slack stored on the interactions topic, by kind.",
    ["kind"],
)


def count_request(mode: str, request_type: str, acknowledged: bool) -> None:
    outcome = "acknowledged" if acknowledged else "unacknowledged"
    REQUESTS.labels(mode, _request_type(request_type), outcome).inc()


def _request_type(request_type: str) -> str:
    """Slack's envelope types; anything else under one name, so labels stay bounded."""
    known = ("events_api", "interactive", "slash_commands")
    return request_type if request_type in known else "other"
