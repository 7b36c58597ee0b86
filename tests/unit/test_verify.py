"""`alertfold verify` on in-memory logs: identical when nothing changed, precise when it did."""

from __future__ import annotations

import json
from typing import Any

from agents.inputs import InputRecord
from agents.issue_table import partition_for_channel
from agents.verify import PartitionLogs, ScratchFold, VerifyTopics, verify_partition
from domain.routing import RouteTable

NAMES = VerifyTopics("alerts", "ticks", "interactions", "issue-events")
PARTITIONS = 4
CHANNEL = "C0VERIFY"
P = partition_for_channel(CHANNEL, PARTITIONS)
T0 = 1_795_424_400.0  # 2026-11-23T09:00:00Z, as a Kafka record timestamp


def alert_record(offset: int, seconds: int, channel: str = CHANNEL, **fields: Any) -> InputRecord:
    """An alert stamped `seconds` after 09:00, received then (its record's timestamp)."""
    body = {
        "slackChannelId": channel,
        "correlationId": "db",
        "header": "Database down",
        "timestamp": f"2026-11-23T09:{seconds // 60:02d}:{seconds % 60:02d}Z",
        "issueFollowUpEnabled": True,
        "autoResolveSeconds": 60,
        **fields,
    }
    received = T0 + seconds
    return InputRecord("alerts", P, offset, channel.encode(), json.dumps(body).encode(), received)


def tick_record(offset: int, seconds: int, **settings: Any) -> InputRecord:
    at = f"2026-11-23T09:{seconds // 60:02d}:{seconds % 60:02d}Z"
    value = json.dumps({"type": "tick", "schema_version": 1, "at": at, **settings}).encode()
    return InputRecord("ticks", P, offset, None, value, 0.0)


def live_run(order: list[InputRecord]) -> PartitionLogs:
    """What a worker wrote when its inputs reached it in `order`."""
    by_topic = {
        topic: sorted((r for r in order if r.topic == topic), key=lambda r: r.offset)
        for topic in ("alerts", "ticks", "interactions")
    }
    fold = ScratchFold(NAMES.inputs, RouteTable([]), PARTITIONS)
    for record in order:
        fold.fold(record)
    events = [
        InputRecord("issue-events", P, n, CHANNEL.encode(), v, 0.0)
        for n, v in enumerate(fold.written)
    ]
    return PartitionLogs(
        alerts=by_topic["alerts"],
        ticks=by_topic["ticks"],
        interactions=by_topic["interactions"],
        events=events,
    )


# The tick at 09:01:10 resolves the issue only if it comes before the alert of 09:00:50 is
# folded; the live worker saw the alert late, so the order must be repeated to agree.
LATE_ALERT_ORDER = [
    alert_record(0, 0),
    tick_record(0, 30),
    tick_record(1, 70),
    alert_record(1, 50),
    tick_record(2, 200),
]


async def test_refold_of_an_untouched_log_is_identical() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None
    assert result.events == len(logs.events) >= 3


async def test_the_order_alerts_and_ticks_were_folded_in_is_repeated() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    types = [json.loads(e.value or b"")["type"] for e in logs.events]
    assert types[:3] == ["IssueOpened", "IssueResolved", "IssueReopened"]
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None


async def test_crash_repeats_of_the_same_events_are_not_divergences() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    logs.events.insert(2, logs.events[1])
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None


async def test_a_tampered_event_is_the_first_divergence() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    forged = json.loads(logs.events[1].value or b"")
    forged["issue"]["alert_count"] = 7
    record = logs.events[1]
    logs.events[1] = InputRecord(
        record.topic, record.partition, 99, record.key, json.dumps(forged).encode(), 0.0
    )
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is not None
    assert result.divergence.index == 1
    assert "issue: log has" in result.divergence.describe()


async def test_a_missing_event_is_a_divergence() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    del logs.events[2]
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is not None and result.divergence.index == 2


async def test_inputs_the_worker_has_not_folded_yet_are_counted_not_failed() -> None:
    logs = live_run(LATE_ALERT_ORDER)
    logs.alerts.append(alert_record(2, 300))
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None
    assert result.not_yet_folded >= 1


async def test_interactions_are_refolded_in_their_place() -> None:
    logs = live_run(LATE_ALERT_ORDER[:2])
    issue_id = json.loads(logs.events[0].value or b"")["issue_id"]
    body = {
        "type": "interaction",
        "schema_version": 1,
        "interaction_id": "env-1",
        "kind": "resolved",
        "channel_id": CHANNEL,
        "correlation_id": "db",
        "issue_id": issue_id,
        "at": "2026-11-23T09:00:40Z",
        "actor": {"kind": "slack_user", "id": "U1", "name": "Ann"},
    }
    resolved = InputRecord("interactions", P, 0, CHANNEL.encode(), json.dumps(body).encode(), 0.0)
    logs = live_run([*LATE_ALERT_ORDER[:2], resolved, alert_record(1, 50)])
    types = [json.loads(e.value or b"")["type"] for e in logs.events]
    assert types == ["IssueOpened", "IssueResolvedByHand", "IssueReopened"]
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None


QUIET = next(
    c for c in (f"C0QUIET{n}" for n in range(50)) if partition_for_channel(c, PARTITIONS) == P
)
# Every 30 s, but every 20 s in CHANNEL and never in QUIET.
CHANNEL_INTERVALS = {
    "reminder_interval_seconds": 30,
    "channel_reminder_interval_seconds": {CHANNEL: 20, QUIET: 0},
}


def reminder_order(**settings: Any) -> list[InputRecord]:
    held = {"autoResolveSeconds": 3600}
    return [
        tick_record(0, 0, **settings),
        alert_record(0, 1, **held),
        alert_record(1, 1, QUIET, **held),
        tick_record(1, 25, **settings),
        tick_record(2, 45, **settings),
    ]


async def test_a_refold_reminds_per_channel_as_the_ticks_said_at_the_time() -> None:
    logs = live_run(reminder_order(**CHANNEL_INTERVALS))
    decided = [json.loads(e.value or b"") for e in logs.events]
    assert [(e["type"], e["channel_id"]) for e in decided] == [
        ("IssueOpened", CHANNEL),
        ("IssueOpened", QUIET),
        ("IssueReminded", CHANNEL),
        ("IssueReminded", CHANNEL),
    ]
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is None


async def test_the_channels_intervals_are_read_from_the_ticks_not_from_the_settings() -> None:
    logs = live_run(reminder_order(**CHANNEL_INTERVALS))
    logs.ticks[0] = tick_record(0, 0, reminder_interval_seconds=30)  # CHANNEL's own left out
    result = verify_partition(P, logs, NAMES, RouteTable([]), PARTITIONS)
    assert result.divergence is not None and result.divergence.index == 0
