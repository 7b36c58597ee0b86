"""What a committed batch of the fold adds to the worker's metrics: inputs by topic, issue
events by type, dead letters by kind of reason, the batch's size and time."""

from __future__ import annotations

from prometheus_client import REGISTRY

from agents.metrics import count_committed
from agents.verify import ScratchFold
from tests.unit.fold_stand_ins import TOPICS, Record, alert


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_committed_batch_counts_its_inputs_events_and_dead_letters(
    folder: ScratchFold,
) -> None:
    records = [
        Record(alert(), offset=0).input(),
        Record(alert(text="again"), offset=1).input(),
        Record(b"{nope", offset=2).input(),
        Record(alert(severity="loud"), offset=3).input(),
    ]
    before = {
        "alerts": value("alertfold_fold_inputs_total", input="alerts"),
        "opened": value("alertfold_fold_issue_events_total", type="IssueOpened"),
        "grouped": value("alertfold_fold_issue_events_total", type="AlertGrouped"),
        "undecodable": value("alertfold_fold_dead_letters_total", reason="undecodable"),
        "batches": value("alertfold_fold_batch_records_count"),
        "records": value("alertfold_fold_batch_records_sum"),
    }
    outputs = [output for record in records for output in folder.fold(record)]

    count_committed(TOPICS, records, outputs, seconds=0.02)

    assert value("alertfold_fold_inputs_total", input="alerts") == before["alerts"] + 4
    assert value("alertfold_fold_issue_events_total", type="IssueOpened") == before["opened"] + 1
    assert value("alertfold_fold_issue_events_total", type="AlertGrouped") == before["grouped"] + 1
    assert (
        value("alertfold_fold_dead_letters_total", reason="undecodable")
        == before["undecodable"] + 2
    )
    assert value("alertfold_fold_batch_records_count") == before["batches"] + 1
    assert value("alertfold_fold_batch_records_sum") == before["records"] + 4


def test_a_dead_letter_says_what_kind_of_reason_it_has(folder: ScratchFold) -> None:
    [letter] = folder.fold(Record(b"{nope", offset=0).input())
    assert letter.kind == "undecodable"
    [event] = folder.fold(Record(alert(), offset=1).input())
    assert event.kind == "IssueOpened"
