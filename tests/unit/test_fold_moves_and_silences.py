"""Moving issues between channels and silencing them, through the fold agent.

A move is decided on the old channel's partition and handed to the new channel's partition as
an input; silences reach every partition and are kept in its book. These tests feed the
agent the records each partition would see and read what it sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.issue_table import partition_for_channel, read_slot, slot_key
from agents.verify import ScratchFold
from domain.interactions import Actor, Interaction, InteractionKind
from domain.silences import Matcher, MatchOperator, Silence
from tests.unit.fold_stand_ins import CHANNEL, PARTITIONS, RIGHT, Record, Sent, alert, fold
from wire.interactions import encode_interaction
from wire.silences import encode_silence

TARGET = next(
    c for c in (f"C0TARGET{i}" for i in range(50)) if partition_for_channel(c, PARTITIONS) != RIGHT
)
THERE = partition_for_channel(TARGET, PARTITIONS)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def events(sent: list[Sent], partition: int | None = None) -> list[dict[str, Any]]:
    return [
        json.loads(s.value)
        for s in sent
        if s.topic == "issue-events" and (partition is None or s.partition == partition)
    ]


def interaction_record(
    kind: InteractionKind, issue_id: str, offset: int, channel: str = CHANNEL, **extra: Any
) -> Record:
    interaction = Interaction(
        interaction_id=f"i-{channel}-{offset}",
        kind=kind,
        channel_id=channel,
        correlation_id="db",
        issue_id=issue_id,
        at=T0 + timedelta(minutes=1),
        actor=Actor(kind="slack_user", id="U1", name="ana"),
        **extra,
    )
    partition = partition_for_channel(channel, PARTITIONS)
    return Record(
        encode_interaction(interaction),
        offset=offset,
        key=channel.encode(),
        partition=partition,
        topic="interactions",
    )


def arrival(handover: Sent, offset: int) -> Record:
    """The hand-over as the new channel's partition holds it."""
    return Record(
        handover.value, offset=offset, key=handover.key, partition=THERE, topic="interactions"
    )


def silence_record(offset: int, partition: int = RIGHT, **fields: Any) -> Record:
    silence = Silence(
        id=fields.pop("id", "s1"),
        matchers=(Matcher(name="correlationId", value="d.*", operator=MatchOperator.REGEX),),
        starts_at=fields.pop("starts_at", T0),
        ends_at=fields.pop("ends_at", T0 + timedelta(hours=1)),
        created_by="ana",
    )
    at = fields.pop("at", T0 + timedelta(minutes=2))
    return Record(
        encode_silence(silence, at=at),
        offset=offset,
        key=b"silence:s1",
        partition=partition,
        topic="interactions",
    )


def tick(at: datetime, offset: int, partition: int = RIGHT, **settings: Any) -> Record:
    body = {"type": "tick", "schema_version": 1, "at": at.isoformat(), **settings}
    value = json.dumps(body).encode()
    return Record(value, offset=offset, key=None, partition=partition, topic="ticks")


async def opened_issue(folder: ScratchFold, sent: list[Sent], **fields: Any) -> str:
    fold(folder, Record(alert(issueFollowUpEnabled=True, **fields), offset=0), sent)
    return str(events(sent)[0]["issue_id"])


async def moved(folder: ScratchFold, sent: list[Sent]) -> tuple[str, Sent]:
    issue_id = await opened_issue(folder, sent)
    fold(
        folder,
        interaction_record(
            InteractionKind.MOVED, issue_id, 0, target_channel_id=TARGET, reason="db team"
        ),
        sent,
    )
    handover = next(s for s in sent if s.topic == "interactions")
    return issue_id, handover


async def test_moving_an_issue_records_the_move_and_hands_the_issue_to_the_new_channel(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    issue_id, handover = await moved(folder, sent)
    move = events(sent)[-1]
    assert move["type"] == "IssueMoved"
    assert move["data"]["from_channel_id"] == CHANNEL
    assert move["data"]["to_channel_id"] == TARGET
    assert move["data"]["reason"] == "db team"
    assert move["issue"]["channel_id"] == TARGET
    assert (handover.key, handover.partition) == (TARGET.encode(), THERE)
    assert json.loads(handover.value)["issue"]["id"] == issue_id
    left = read_slot(slots, slot_key(CHANNEL, "db"))
    assert left is not None and left.issue is None and left.moved_to == TARGET


async def test_handed_over_issue_arrives_in_the_new_channel_as_the_same_issue(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    issue_id, handover = await moved(folder, sent)
    fold(folder, arrival(handover, 0), sent)
    arrived = events(sent, THERE)
    assert [e["type"] for e in arrived] == ["IssueArrived"]
    assert arrived[0]["issue_id"] == issue_id
    assert arrived[0]["version"] == events(sent, RIGHT)[-1]["version"] + 1
    here = read_slot(slots, slot_key(TARGET, "db"))
    assert here is not None and here.issue is not None and here.issue.id == issue_id


async def test_an_issue_handed_over_twice_arrives_once(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    _, handover = await moved(folder, sent)
    for offset in (0, 1):
        fold(folder, arrival(handover, offset), sent)
    assert [e["type"] for e in events(sent, THERE)] == ["IssueArrived"]


async def test_a_repeated_hand_over_after_the_issue_moved_on_does_not_bring_it_back(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    issue_id, handover = await moved(folder, sent)
    fold(folder, arrival(handover, 0), sent)
    onward = interaction_record(
        InteractionKind.MOVED, issue_id, 1, TARGET, target_channel_id="C0ELSEWHERE"
    )
    fold(folder, onward, sent)
    fold(folder, arrival(handover, 2), sent)  # the first hand-over, sent again
    assert [e["type"] for e in events(sent, THERE)] == ["IssueArrived", "IssueMoved"]
    left = read_slot(slots, slot_key(TARGET, "db"))
    assert left is not None and left.issue is None and left.moved_to == "C0ELSEWHERE"


async def test_later_alert_for_a_moved_issue_follows_it_to_the_new_channel(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await moved(folder, sent)
    fold(folder, Record(alert(timestamp="2026-11-23T09:05:00Z"), offset=1), sent)
    followed = [s for s in sent if s.topic == "alerts"]
    assert [(s.key, s.partition) for s in followed] == [(TARGET.encode(), THERE)]
    assert json.loads(followed[0].value)["alert"]["slackChannelId"] == TARGET


async def test_a_moved_issue_keeps_the_reminder_interval_it_opened_with(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    # Every 2 minutes where it opens, never where it goes.
    own = {"channel_reminder_interval_seconds": {CHANNEL: 120, TARGET: 0}}
    fold(folder, tick(T0 - timedelta(minutes=1), 0, RIGHT, **own), sent)
    fold(folder, tick(T0 - timedelta(minutes=1), 0, THERE, **own), sent)
    _, handover = await moved(folder, sent)
    fold(folder, arrival(handover, 0), sent)
    fold(folder, tick(T0 + timedelta(minutes=2), 1, THERE, **own), sent)
    assert events(sent, RIGHT)[0]["data"]["reminder_interval_seconds"] == 120
    assert [e["type"] for e in events(sent, THERE)] == ["IssueArrived", "IssueReminded"]


async def test_escalation_point_with_move_to_channel_moves_the_issue(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    escalation = [{"severity": "panic", "delaySeconds": 60, "moveToChannel": TARGET}]
    await opened_issue(folder, sent, escalation=escalation)
    fold(folder, tick(T0 + timedelta(minutes=2), 0), sent)
    assert [e["type"] for e in events(sent)][-2:] == ["IssueEscalated", "IssueMoved"]
    assert [s.partition for s in sent if s.topic == "interactions"] == [THERE]


async def test_silence_marks_the_matching_open_issue_silenced_until_its_end(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent)
    fold(folder, silence_record(0), sent)
    silenced = events(sent)[-1]
    assert silenced["type"] == "IssueSilenced"
    assert silenced["issue"]["silence_id"] == "s1"
    assert silenced["issue"]["silenced_until"] == "2026-11-23T10:00:00Z"


async def test_alert_opening_an_issue_under_a_silence_is_folded_and_silenced(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(
        folder,
        silence_record(0, at=T0 - timedelta(minutes=1), starts_at=T0 - timedelta(minutes=1)),
        sent,
    )
    fold(folder, Record(alert(), offset=0), sent)
    assert [e["type"] for e in events(sent)] == ["IssueOpened", "IssueSilenced"]


async def test_silence_that_does_not_match_changes_nothing(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent, correlationId="web")
    fold(folder, silence_record(0), sent)
    assert [e["type"] for e in events(sent)] == ["IssueOpened"]


async def test_silence_ends_when_a_tick_passes_its_end(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent, autoResolveSeconds=86_400)
    fold(folder, silence_record(0), sent)
    fold(folder, tick(T0 + timedelta(minutes=59), 0), sent)
    assert events(sent)[-1]["type"] == "IssueSilenced"
    fold(folder, tick(T0 + timedelta(hours=1), 1), sent)
    ended = events(sent)[-1]
    assert ended["type"] == "IssueSilenceEnded"
    assert ended["issue"]["silenced_until"] is None


async def test_expiring_a_silence_early_ends_it_for_its_issues(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent)
    fold(folder, silence_record(0), sent)
    expire_at = T0 + timedelta(minutes=5)
    fold(folder, silence_record(1, ends_at=expire_at, at=expire_at), sent)
    assert events(sent)[-1]["type"] == "IssueSilenceEnded"


async def test_silence_set_for_later_silences_its_issues_when_a_tick_reaches_its_start(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent, autoResolveSeconds=86_400)
    start = T0 + timedelta(minutes=30)
    fold(folder, silence_record(0, starts_at=start, ends_at=start + timedelta(hours=1)), sent)
    scheduled = events(sent)[-1]
    assert scheduled["type"] == "IssueSilenceScheduled"
    assert scheduled["data"]["next_start"] == "2026-11-23T09:30:00Z"
    fold(folder, tick(start - timedelta(seconds=1), 0), sent)
    assert events(sent)[-1]["type"] == "IssueSilenceScheduled"
    fold(folder, tick(start, 1), sent)
    silenced = events(sent)[-1]
    assert silenced["type"] == "IssueSilenced"
    assert silenced["issue"]["silenced_until"] == "2026-11-23T10:30:00Z"


async def test_silence_start_end_and_auto_resolve_fire_as_ticks_reach_them(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent, autoResolveSeconds=60)
    start = T0 + timedelta(seconds=30)
    ends = start + timedelta(seconds=20)
    fold(folder, silence_record(0, starts_at=start, ends_at=ends, at=T0), sent)
    fold(folder, tick(T0 + timedelta(seconds=40), 0), sent)  # silence start, nothing else
    fold(folder, tick(T0 + timedelta(minutes=2), 1), sent)  # silence end and auto-resolve
    assert [e["type"] for e in events(sent)] == [
        "IssueOpened",
        "IssueSilenceScheduled",
        "IssueSilenced",
        "IssueSilenceEnded",
        "IssueResolved",
    ]


async def test_one_late_tick_fires_a_silence_start_and_the_deadlines_after_it(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    await opened_issue(folder, sent, autoResolveSeconds=60)
    start = T0 + timedelta(seconds=30)
    ends = start + timedelta(seconds=20)
    fold(folder, silence_record(0, starts_at=start, ends_at=ends, at=T0), sent)
    fold(folder, tick(T0 + timedelta(minutes=2), 0), sent)  # the silence is over by then
    assert [e["type"] for e in events(sent)][-2:] == ["IssueSilenceScheduled", "IssueResolved"]
    assert events(sent)[-2]["data"]["next_start"] is None
