"""What the channel actors do with each kind of record, and what they send.

The worker's transactions and the broker are exercised by tests/integration (restarts,
kill -9, fencing); these pin down the decisions and their outputs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.issue_table import alerting_settings_of, partition_for_channel, slot_key
from agents.verify import ScratchFold
from domain.alerting import AlertingSettings
from domain.routing import RouteTable
from tests.unit.fold_stand_ins import (
    CHANNEL,
    PARTITIONS,
    RIGHT,
    TOPICS,
    Record,
    Sent,
    alert,
    fold,
)
from wire.ticks import encode_tick


def bookmark(bookmarks: dict[str, bytes]) -> int:
    return int(bookmarks[f"alerts:{RIGHT}"])


async def test_alert_on_its_channels_partition_becomes_issue_events_keyed_by_channel(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(), offset=0), sent)
    assert [(s.topic, s.key, s.partition) for s in sent] == [
        ("issue-events", CHANNEL.encode(), RIGHT)
    ]
    assert json.loads(sent[0].value)["type"] == "IssueOpened"
    assert bookmark(bookmarks) == 1


async def test_alert_on_another_partition_is_resent_onto_its_channel_not_folded(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    wrong = (RIGHT + 1) % PARTITIONS
    fold(folder, Record(alert(), offset=5, key=b"x", partition=wrong), sent)
    assert [(s.topic, s.key, s.partition) for s in sent] == [("alerts", CHANNEL.encode(), RIGHT)]
    assert json.loads(sent[0].value)["schema_version"] == 1
    assert bookmarks[f"alerts:{wrong}"] == b"6"


async def test_undecodable_value_goes_to_the_dead_letter_topic_and_the_fold_moves_on(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(b"{nope", offset=0), sent)
    fold(folder, Record(alert(), offset=1), sent)
    assert [s.topic for s in sent] == ["alerts.dlq", "issue-events"]
    assert json.loads(sent[0].value)["reason"].startswith("value is not valid JSON")
    assert bookmark(bookmarks) == 2


async def test_alert_already_in_the_state_is_not_folded_twice_when_the_bookmark_lags(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(), offset=0), sent)
    bookmarks[f"alerts:{RIGHT}"] = b"0"  # the crash came between saving state and bookmark
    fold(folder, Record(alert(), offset=0), sent)
    assert len(sent) == 1
    assert bookmark(bookmarks) == 1


class BrokenRoutes:
    def resolve(self, route_key: str, alert_type: str = "") -> str:
        raise ValueError("route table corrupted")


async def test_a_record_that_trips_a_bug_is_dead_lettered_and_the_fold_goes_on(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    folder.actors.at = replace(folder.actors.at, routes=BrokenRoutes())  # type: ignore[arg-type]
    routed = json.dumps({"routeKey": "payments", "header": "h"}).encode()
    fold(folder, Record(routed, offset=0), sent)
    fold(folder, Record(alert(), offset=1), sent)
    assert [s.topic for s in sent] == ["alerts.dlq", "issue-events"]
    reason = json.loads(sent[0].value)["reason"]
    assert reason.startswith("internal error while folding: ValueError")
    assert bookmark(bookmarks) == 2


# -- ticks ---------------------------------------------------------------------------------

FOLLOWED = {"issueFollowUpEnabled": True, "autoResolveSeconds": 120}


def tick(offset: int, at: str) -> Record:
    value = json.dumps({"type": "tick", "schema_version": 1, "at": at}).encode()
    return Record(value, offset=offset, key=None, topic="ticks")


def sent_types(sent: list[Sent]) -> list[str]:
    return [json.loads(s.value)["type"] for s in sent if s.topic == "issue-events"]


async def test_tick_fires_the_due_deadline_and_remembers_it_in_the_slot(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(**FOLLOWED), offset=0), sent)
    fold(folder, tick(0, "2026-11-23T09:01:59Z"), sent)
    assert sent_types(sent) == ["IssueOpened"]
    fold(folder, tick(1, "2026-11-23T09:02:00Z"), sent)
    assert sent_types(sent) == ["IssueOpened", "IssueResolved"]
    resolved = json.loads(sent[-1].value)
    assert resolved["cause"] == {"topic": "ticks", "partition": RIGHT, "offset": 1}
    assert resolved["folded_before"] == {"alerts": 1, "ticks": 1, "interactions": 0}
    assert json.loads(slots[slot_key(CHANNEL, "db")])["last_tick_offset"] == 1
    assert bookmarks[f"ticks:{RIGHT}"] == b"2"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_the_clock_asks_for_a_tick_only_when_a_deadline_of_the_partition_is_due(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    due = folder.actors.deadlines.due
    assert due(RIGHT, instant("2026-11-23T08:59:00Z"))  # unknown until its first tick
    fold(folder, tick(0, "2026-11-23T08:59:00Z"), sent)
    assert not due(RIGHT, instant("2026-11-23T09:30:00Z"))  # no issue: nothing to fire

    fold(folder, Record(alert(**FOLLOWED), offset=0), sent)  # auto-resolves at 09:02
    assert not due(RIGHT, instant("2026-11-23T09:01:59Z"))
    assert due(RIGHT, instant("2026-11-23T09:02:00Z"))

    # A later alert postpones the deadline; the earlier one no longer counts.
    fold(folder, Record(alert(**FOLLOWED, timestamp="2026-11-23T09:01:00Z"), offset=1), sent)
    assert not due(RIGHT, instant("2026-11-23T09:02:30Z"))
    assert due(RIGHT, instant("2026-11-23T09:03:00Z"))

    fold(folder, tick(1, "2026-11-23T09:03:00Z"), sent)
    assert sent_types(sent)[-1] == "IssueResolved"
    assert not due(RIGHT, instant("2026-11-23T09:03:00Z"))


async def test_after_a_discarded_batch_the_clock_asks_for_a_tick_to_rebuild_its_index(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(folder, tick(0, "2026-11-23T08:59:00Z"), sent)
    assert not folder.actors.deadlines.due(RIGHT, instant("2026-11-23T09:00:00Z"))

    folder.actors.discard()

    assert folder.actors.deadlines.due(RIGHT, instant("2026-11-23T09:00:00Z"))


def tick_with(offset: int, at: str, **settings: int) -> Record:
    value = json.dumps({"type": "tick", "schema_version": 1, "at": at, **settings}).encode()
    return Record(value, offset=offset, key=None, topic="ticks")


async def test_the_alerting_settings_of_a_tick_reach_the_issues_opened_after_it(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    held = {**FOLLOWED, "autoResolveSeconds": 7200}
    fold(folder, Record(alert(**held), offset=0), sent)
    fold(folder, tick_with(0, "2026-11-23T08:59:00Z", reminder_interval_seconds=60), sent)
    fold(folder, Record(alert(**held, correlationId="web"), offset=1), sent)
    fold(folder, tick_with(1, "2026-11-23T09:01:00Z", reminder_interval_seconds=60), sent)
    events = [json.loads(s.value) for s in sent if s.topic == "issue-events"]
    assert [(e["type"], e["correlation_id"]) for e in events] == [
        ("IssueOpened", "db"),
        ("IssueOpened", "web"),
        ("IssueReminded", "web"),  # "db" opened before the settings came
    ]
    assert events[1]["data"]["reminder_interval_seconds"] == 60


async def test_a_partitions_ticks_carry_only_its_own_channels_intervals_for_its_issues(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    elsewhere = next(
        c
        for c in (f"C0ELSE{n:04d}" for n in range(50))
        if partition_for_channel(c, PARTITIONS) != RIGHT
    )
    worker = AlertingSettings.of(
        timedelta(minutes=30), None, [(CHANNEL, timedelta(minutes=1)), (elsewhere, timedelta(0))]
    )
    carried = alerting_settings_of(worker, RIGHT, PARTITIONS)
    assert carried == AlertingSettings(
        reminder_interval_seconds=1800, channel_reminder_interval_seconds={CHANNEL: 60}
    )
    there = alerting_settings_of(worker, partition_for_channel(elsewhere, PARTITIONS), PARTITIONS)
    assert there.channel_reminder_interval_seconds == {elsewhere: 0}
    at = datetime(2026, 11, 23, 8, 59, tzinfo=UTC)
    fold(folder, Record(encode_tick(at, carried), offset=0, key=None, topic="ticks"), sent)
    fold(folder, Record(alert(**FOLLOWED), offset=0), sent)
    assert json.loads(sent[-1].value)["data"]["reminder_interval_seconds"] == 60


async def test_a_tick_without_settings_turns_them_off_for_later_issues(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(folder, tick_with(0, "2026-11-23T08:59:00Z", deduplication_window_seconds=300), sent)
    fold(folder, tick(1, "2026-11-23T08:59:01Z"), sent)
    fold(folder, Record(alert(), offset=0), sent)
    opened = json.loads(sent[-1].value)
    assert opened["data"]["deduplication_window_seconds"] is None


async def test_alert_events_record_where_the_fold_stood_in_each_input(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(folder, tick(0, "2026-11-23T08:00:00Z"), sent)
    fold(folder, tick(1, "2026-11-23T08:00:01Z"), sent)
    fold(folder, Record(alert(), offset=0), sent)
    assert json.loads(sent[-1].value)["folded_before"] == {
        "alerts": 0,
        "ticks": 2,
        "interactions": 0,
    }


async def test_tick_refolded_after_a_lost_bookmark_fires_nothing_twice(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(**FOLLOWED), offset=0), sent)
    fold(folder, tick(0, "2026-11-23T10:00:00Z"), sent)
    del bookmarks[f"ticks:{RIGHT}"]
    folder.actors.deadlines.forget()  # as after a restart: rebuilt from the table
    fold(folder, tick(0, "2026-11-23T10:00:00Z"), sent)
    assert sent_types(sent) == ["IssueOpened", "IssueResolved"]


async def test_archived_issue_leaves_the_table_and_the_next_alert_opens_a_new_one(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(), offset=0), sent)
    fold(folder, tick(0, "2026-11-23T09:00:30Z"), sent)
    assert sent_types(sent) == ["IssueOpened", "IssueArchived"]
    assert slots == {}
    fold(folder, Record(alert(timestamp="2026-11-23T09:01:00Z"), offset=1), sent)
    events = [json.loads(s.value) for s in sent if s.topic == "issue-events"]
    assert events[-1]["type"] == "IssueOpened"
    assert events[-1]["issue_id"] != events[0]["issue_id"]


async def test_deadlines_are_found_in_the_table_after_a_restart(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(folder, Record(alert(**FOLLOWED), offset=0), sent)
    folder.actors.deadlines.forget()
    fold(folder, tick(0, "2026-11-23T11:00:00Z"), sent)
    assert sent_types(sent)[-1] == "IssueResolved"


async def test_undecodable_tick_is_dead_lettered(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, Record(b'{"type": "tick"}', offset=0, key=None, topic="ticks"), sent)
    assert [s.topic for s in sent] == ["alerts.dlq"]
    assert "schema_version" in json.loads(sent[0].value)["reason"]
    assert bookmarks[f"ticks:{RIGHT}"] == b"1"


# -- after a crash -------------------------------------------------------------------------


# -- interactions --------------------------------------------------------------------------


def interaction(offset: int, issue_id: str, kind: str = "acknowledged", **fields: Any) -> Record:
    body = {
        "type": "interaction",
        "schema_version": 1,
        "interaction_id": f"env-{offset}",
        "kind": kind,
        "channel_id": CHANNEL,
        "correlation_id": "db",
        "issue_id": issue_id,
        "at": "2026-11-23T09:03:00Z",
        "actor": {"kind": "slack_user", "id": "U1", "name": "Ann"},
        **fields,
    }
    return Record(json.dumps(body).encode(), offset=offset, topic="interactions")


async def test_interaction_becomes_an_event_on_its_issue(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(), offset=0), sent)
    issue_id = json.loads(sent[0].value)["issue_id"]
    fold(folder, interaction(0, issue_id), sent)
    assert sent_types(sent) == ["IssueOpened", "IssueAcknowledged"]
    assert json.loads(slots[slot_key(CHANNEL, "db")])["last_interaction_offset"] == 0


async def test_interaction_on_another_partition_is_rekeyed_onto_interactions(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    wrong = (RIGHT + 1) % PARTITIONS
    record = interaction(0, "some-issue")
    record.partition = wrong
    fold(folder, record, sent)
    assert [(s.topic, s.key, s.partition) for s in sent] == [
        ("interactions", CHANNEL.encode(), RIGHT)
    ]


async def test_interaction_for_an_unknown_issue_changes_nothing(
    folder: ScratchFold, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    fold(folder, interaction(0, "no-such-issue"), sent)
    assert sent == []
    assert bookmarks[f"interactions:{RIGHT}"] == b"1"


async def test_invalid_interaction_is_dead_lettered_with_its_problems(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    fold(folder, interaction(0, "x", kind="shrugged"), sent)
    letter = json.loads(sent[0].value)
    assert sent[0].topic == "alerts.dlq"
    assert letter["problems"][0]["field"] == "kind"


# -- batches -------------------------------------------------------------------------------


async def test_a_batch_decides_exactly_as_one_record_at_a_time(
    folder: ScratchFold, sent: list[Sent]
) -> None:
    records = [
        Record(alert(**FOLLOWED, text=f"n{n}", timestamp=f"2026-11-23T09:00:0{n}Z"), offset=n)
        for n in range(5)
    ]
    ticks = [tick(0, "2026-11-23T09:00:03Z"), tick(1, "2026-11-23T10:00:00Z")]
    batch = [records[0], records[1], ticks[0], records[2], ticks[1], records[3], records[4]]
    actors, positions = folder.actors, folder.positions
    batched = []
    for record in batch:  # as the worker folds a batch: staged, committed once at the end
        outputs = actors.fold(record.input(), positions.folded_before(record.input(), TOPICS.all))
        positions.advance(record.input())
        batched.extend(o.value for o in outputs)
    actors.commit()

    one_by_one: list[Sent] = []
    other = ScratchFold(TOPICS, RouteTable([]), PARTITIONS)
    for record in batch:
        fold(other, record, one_by_one)
    assert [s.value for s in one_by_one] == batched
    types = [json.loads(v)["type"] for v in batched]
    assert types[-3:] == ["IssueResolved", "IssueReopened", "AlertGrouped"]


async def test_discarded_state_leaves_the_table_as_it_was(
    folder: ScratchFold, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    fold(folder, Record(alert(), offset=0), sent)
    saved = dict(slots)
    folder.actors.fold(Record(alert(text="second"), offset=1).input(), {})
    folder.actors.discard()  # the transaction did not commit
    assert slots == saved
