"""The fold agent's translation and bookkeeping, with Faust's moving parts stood in for.

The broker itself is exercised by tests/integration; these pin down what the agent does
with each kind of record and in which order its effects happen.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from agents.fold_agent import AlertFolder
from agents.fold_progress import FoldProgress
from agents.issue_table import slot_key
from domain.routing import RouteTable
from tests.unit.fold_stand_ins import (
    CHANNEL,
    PARTITIONS,
    RIGHT,
    FakeGapReader,
    Record,
    Sent,
    alert,
    handle,
)


def bookmark(bookmarks: dict[str, bytes]) -> int:
    return int(bookmarks[f"alerts:{RIGHT}"])


async def test_alert_on_its_channels_partition_becomes_issue_events_keyed_by_channel(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    assert [(s.topic, s.key, s.partition) for s in sent] == [
        ("issue-events", CHANNEL.encode(), RIGHT)
    ]
    assert json.loads(sent[0].value)["type"] == "IssueOpened"
    assert bookmark(bookmarks) == 1


async def test_state_is_saved_only_after_the_events_were_sent(
    folder: AlertFolder, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    saved = json.loads(slots[slot_key(CHANNEL, "db")])
    assert saved["last_alert_offset"] == 0
    assert saved["issue"]["id"] == json.loads(sent[0].value)["issue_id"]


async def test_alert_on_another_partition_is_resent_onto_its_channel_not_folded(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    wrong = (RIGHT + 1) % PARTITIONS
    await handle(folder, Record(alert(), offset=5, key=b"x", partition=wrong))
    assert [(s.topic, s.key, s.partition) for s in sent] == [("alerts", CHANNEL.encode(), RIGHT)]
    assert json.loads(sent[0].value)["schema_version"] == 1
    assert bookmarks[f"alerts:{wrong}"] == b"6"


async def test_undecodable_value_goes_to_the_dead_letter_topic_and_the_fold_moves_on(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(b"{nope", offset=0))
    await handle(folder, Record(alert(), offset=1))
    assert [s.topic for s in sent] == ["alerts.dlq", "issue-events"]
    assert json.loads(sent[0].value)["reason"].startswith("value is not valid JSON")
    assert bookmark(bookmarks) == 2


async def test_record_before_the_bookmark_is_a_redelivery_and_changes_nothing(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    await handle(folder, Record(alert(), offset=0))
    assert len(sent) == 1
    assert bookmark(bookmarks) == 1


async def test_records_skipped_before_the_bookmark_are_read_back_and_folded_first(
    folder: AlertFolder, sent: list[Sent], gaps: FakeGapReader, bookmarks: dict[str, bytes]
) -> None:
    gaps.log = {o: Record(alert(text=f"alert {o}"), offset=o) for o in range(4)}
    await handle(folder, gaps.log[0])
    await handle(folder, Record(alert(text="alert 4"), offset=4))
    assert gaps.reads == [(1, 4)]
    causes = [json.loads(s.value)["cause"]["offset"] for s in sent]
    assert causes == [0, 1, 2, 3, 4]
    assert bookmark(bookmarks) == 5


async def test_alert_already_in_the_state_is_not_folded_twice_when_the_bookmark_lags(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    bookmarks[f"alerts:{RIGHT}"] = b"0"  # the crash came between saving state and bookmark
    await handle(folder, Record(alert(), offset=0))
    assert len(sent) == 1
    assert bookmark(bookmarks) == 1


class BrokenRoutes:
    def resolve(self, route_key: str, alert_type: str = "") -> str:
        raise ValueError("route table corrupted")


async def test_a_record_that_trips_a_bug_is_dead_lettered_and_the_fold_goes_on(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    folder.actors.at = replace(folder.actors.at, routes=BrokenRoutes())  # type: ignore[arg-type]
    routed = json.dumps({"routeKey": "payments", "header": "h"}).encode()
    await handle(folder, Record(routed, offset=0))
    await handle(folder, Record(alert(), offset=1))
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
    folder: AlertFolder, sent: list[Sent], slots: dict[str, bytes], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(**FOLLOWED), offset=0))
    await handle(folder, tick(0, "2026-11-23T09:01:59Z"))
    assert sent_types(sent) == ["IssueOpened"]
    await handle(folder, tick(1, "2026-11-23T09:02:00Z"))
    assert sent_types(sent) == ["IssueOpened", "IssueResolved"]
    resolved = json.loads(sent[-1].value)
    assert resolved["cause"] == {"topic": "ticks", "partition": RIGHT, "offset": 1}
    assert resolved["folded_before"] == {"alerts": 1, "ticks": 1, "interactions": 0}
    assert json.loads(slots[slot_key(CHANNEL, "db")])["last_tick_offset"] == 1
    assert bookmarks[f"ticks:{RIGHT}"] == b"2"


async def test_alert_events_record_where_the_fold_stood_in_each_input(
    folder: AlertFolder, sent: list[Sent]
) -> None:
    await handle(folder, tick(0, "2026-11-23T08:00:00Z"))
    await handle(folder, tick(1, "2026-11-23T08:00:01Z"))
    await handle(folder, Record(alert(), offset=0))
    assert json.loads(sent[-1].value)["folded_before"] == {
        "alerts": 0,
        "ticks": 2,
        "interactions": 0,
    }


async def test_tick_refolded_after_a_lost_bookmark_fires_nothing_twice(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(**FOLLOWED), offset=0))
    await handle(folder, tick(0, "2026-11-23T10:00:00Z"))
    del bookmarks[f"ticks:{RIGHT}"]
    folder.actors.deadlines.forget()  # as after a restart: rebuilt from the table
    await handle(folder, tick(0, "2026-11-23T10:00:00Z"))
    assert sent_types(sent) == ["IssueOpened", "IssueResolved"]


async def test_archived_issue_leaves_the_table_and_the_next_alert_opens_a_new_one(
    folder: AlertFolder, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    await handle(folder, tick(0, "2026-11-23T09:00:30Z"))
    assert sent_types(sent) == ["IssueOpened", "IssueArchived"]
    assert slots == {}
    await handle(
        folder,
        Record(alert(timestamp="2026-11-23T09:01:00Z"), offset=1),
    )
    events = [json.loads(s.value) for s in sent if s.topic == "issue-events"]
    assert events[-1]["type"] == "IssueOpened"
    assert events[-1]["issue_id"] != events[0]["issue_id"]


async def test_deadlines_are_found_in_the_table_after_a_restart(
    folder: AlertFolder, sent: list[Sent]
) -> None:
    await handle(folder, Record(alert(**FOLLOWED), offset=0))
    folder.actors.deadlines.forget()
    await handle(folder, tick(0, "2026-11-23T11:00:00Z"))
    assert sent_types(sent)[-1] == "IssueResolved"


async def test_undecodable_tick_is_dead_lettered(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(b'{"type": "tick"}', offset=0, key=None, topic="ticks"))
    assert [s.topic for s in sent] == ["alerts.dlq"]
    assert "schema_version" in json.loads(sent[0].value)["reason"]
    assert bookmarks[f"ticks:{RIGHT}"] == b"1"


# -- after a crash -------------------------------------------------------------------------


def restarted(folder: AlertFolder) -> None:
    """As a new worker on the same partition: nothing derived is kept, only the table."""
    folder.forget_partitions()


async def test_decision_written_but_not_stated_is_refolded_first_in_logged_order(
    folder: AlertFolder,
    sent: list[Sent],
    gaps: FakeGapReader,
    slots: dict[str, bytes],
    bookmarks: dict[str, bytes],
) -> None:
    await handle(folder, Record(alert(**FOLLOWED), offset=0))
    table_at_crash, bookmarks_at_crash = dict(slots), dict(bookmarks)
    gaps.ticks = {0: tick(0, "2026-11-23T09:05:00Z")}
    await handle(folder, gaps.ticks[0])
    resolved = json.loads(sent[-1].value)
    assert resolved["type"] == "IssueResolved"

    # The worker dies after the broker took the events, before the table writes were.
    slots.clear()
    slots.update(table_at_crash)
    bookmarks.clear()
    bookmarks.update(bookmarks_at_crash)
    restarted(folder)
    later = alert(**FOLLOWED, timestamp="2026-11-23T09:06:00Z")
    await handle(folder, Record(later, offset=1))

    after = [json.loads(s.value) for s in sent if s.topic == "issue-events"][2:]
    assert [e["type"] for e in after] == ["IssueResolved", "IssueReopened"]
    assert after[0]["event_id"] == resolved["event_id"]
    assert after[0] == resolved


async def test_restart_without_lost_writes_refolds_nothing(
    folder: AlertFolder,
    sent: list[Sent],
    gaps: FakeGapReader,
    slots: dict[str, bytes],
    bookmarks: dict[str, bytes],
) -> None:
    await handle(folder, Record(alert(**FOLLOWED), offset=0))
    restarted(folder)
    await handle(folder, Record(alert(**FOLLOWED, text="again"), offset=1))
    assert sent_types(sent) == ["IssueOpened", "AlertGrouped"]
    assert gaps.reads == []


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
    folder: AlertFolder, sent: list[Sent], slots: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    issue_id = json.loads(sent[0].value)["issue_id"]
    await handle(folder, interaction(0, issue_id))
    assert sent_types(sent) == ["IssueOpened", "IssueAcknowledged"]
    assert json.loads(slots[slot_key(CHANNEL, "db")])["last_interaction_offset"] == 0


async def test_interaction_on_another_partition_is_rekeyed_onto_interactions(
    folder: AlertFolder, sent: list[Sent]
) -> None:
    wrong = (RIGHT + 1) % PARTITIONS
    record = interaction(0, "some-issue")
    record.partition = wrong
    await handle(folder, record)
    assert [(s.topic, s.key, s.partition) for s in sent] == [
        ("interactions", CHANNEL.encode(), RIGHT)
    ]


async def test_interaction_for_an_unknown_issue_changes_nothing(
    folder: AlertFolder, sent: list[Sent], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, interaction(0, "no-such-issue"))
    assert sent == []
    assert bookmarks[f"interactions:{RIGHT}"] == b"1"


async def test_invalid_interaction_is_dead_lettered_with_its_problems(
    folder: AlertFolder, sent: list[Sent]
) -> None:
    await handle(folder, interaction(0, "x", kind="shrugged"))
    letter = json.loads(sent[0].value)
    assert sent[0].topic == "alerts.dlq"
    assert letter["problems"][0]["field"] == "kind"


# -- batches -------------------------------------------------------------------------------


async def test_a_batch_decides_exactly_as_one_record_at_a_time(
    folder: AlertFolder, sent: list[Sent]
) -> None:
    records = [
        Record(alert(**FOLLOWED, text=f"n{n}", timestamp=f"2026-11-23T09:00:0{n}Z"), offset=n)
        for n in range(5)
    ]
    ticks = [tick(0, "2026-11-23T09:00:03Z"), tick(1, "2026-11-23T10:00:00Z")]
    batch = [records[0], records[1], ticks[0], records[2], ticks[1], records[3], records[4]]
    await folder.handle(batch)  # type: ignore[arg-type]
    batched = [s.value for s in sent]

    one_by_one: list[Sent] = []
    other = AlertFolder(
        table={},
        progress=FoldProgress({}, FakeGapReader(sent=one_by_one)),
        topics=folder.topics,
        routes=RouteTable([]),
        partitions=PARTITIONS,
    )
    for topic in vars(folder.topics).values():
        topic.log = one_by_one
    for record in batch:
        await handle(other, record)
    assert [s.value for s in one_by_one] == batched
    types = [json.loads(v)["type"] for v in batched]
    assert types[-3:] == ["IssueResolved", "IssueReopened", "AlertGrouped"]


async def test_state_is_not_committed_when_an_event_is_not_acknowledged(
    folder: AlertFolder, sent: list[Sent], slots: dict[str, bytes], bookmarks: dict[str, bytes]
) -> None:
    await handle(folder, Record(alert(), offset=0))
    saved_slots, saved_bookmarks = dict(slots), dict(bookmarks)

    async def refused(**_: Any) -> Any:
        async def nack() -> None:
            raise RuntimeError("broker went away")

        return nack()

    folder.topics.issue_events_topic.send = refused  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await folder.handle([Record(alert(text="second"), offset=1)])  # type: ignore[list-item]
    assert slots == saved_slots and bookmarks == saved_bookmarks


async def test_a_record_faust_skipped_at_a_crash_is_folded_on_the_next_record_of_any_input(
    folder: AlertFolder, sent: list[Sent], gaps: FakeGapReader
) -> None:
    gaps.log = {0: Record(alert(**FOLLOWED), offset=0)}
    await handle(folder, gaps.log[0])
    # Faust committed past offset 1 and will not deliver it again; no other alert follows.
    gaps.log[1] = Record(alert(**FOLLOWED, text="lost?", timestamp="2026-11-23T09:00:30Z"), 1)
    restarted(folder)
    await handle(folder, tick(0, "2026-11-23T09:00:40Z"))
    assert sent_types(sent) == ["IssueOpened", "AlertGrouped"]
