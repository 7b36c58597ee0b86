"""`alertfold audit`, run in-process on a prepared audit store (a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from domain.records import InputPosition
from domain.severity import Severity
from harness.stories import IssueStory, issue_event
from projections.audit_store import AuditStore
from projections.issue_event_reading import Record

ISSUE = "5c1d7e0a-0000-4000-8000-00000000c111"


@pytest.fixture(autouse=True)
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit store with one issue: opened, grouped, panic, a gap, then escalated."""
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "ALERTFOLD_TOPIC_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALERTFOLD_DATA_DIR", str(tmp_path / "data"))
    story = IssueStory(issue_id=ISSUE, channel_id="C0DB", header="Database down")
    story.opened("primary does not answer")
    story.grouped("still down")
    story.severity_changed(Severity.PANIC)
    escalated = issue_event(
        issue_id=ISSUE,
        version=6,
        type="IssueEscalated",
        channel_id="C0DB",
        correlation_id=story.correlation_id,
        severity=Severity.PANIC,
        alert_count=2,
        header="Database down",
        data={"level": 1, "previous": "panic", "severity": "panic", "mentions": ["<!here>"]},
        cause=InputPosition(topic="ticks", partition=1, offset=99),
    )
    store = AuditStore.open(f"sqlite:///{tmp_path}/data/audit.db")
    try:
        records = [Record.of(1, n, event) for n, event in enumerate([*story.events, escalated])]
        store.apply_batch("audit", "issue-events", records)
    finally:
        store.close()


def test_history_is_a_fixed_width_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", ISSUE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"issue {ISSUE}: 4 events"
    assert lines[2].split() == ["VERSION", "WHEN", "(UTC)", "TYPE", "WHAT", "WHO", "INPUT"]
    body = lines[3:]
    assert [line[: len("VERSION")].strip() for line in body if not line.startswith("  (")] == [
        "1",
        "2",
        "3",
        "6",
    ]
    assert "  (versions 4-5 not recorded)" in body
    when = lines[2].index("WHEN")
    assert lines[3][when:].startswith("2024-05-01 12:00:00")
    what = lines[2].index("WHAT")
    assert lines[5][what:].startswith("severity → panic")
    assert lines[-1][what:].startswith("escalated to level 1: severity panic → panic")
    who = lines[2].index("WHO")
    assert lines[-1][who:].startswith("clock")
    assert lines[3].endswith("alerts[0]@0")
    assert lines[-1].endswith("ticks[1]@99")


def test_state_at_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", ISSUE, "--version", "2"]) == 0
    fields = dict(
        (key.strip(), value.strip())
        for key, value in (line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    )
    assert fields["issue"] == ISSUE
    assert fields["as of"] == "version 2, AlertGrouped at 2024-05-01T12:01:00Z"
    assert (fields["status"], fields["severity"], fields["alert_count"]) == ("open", "error", "2")
    assert fields["text"] == "still down"
    assert fields["resolved_at"] == "—"


def test_state_at_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", ISSUE, "--at", "2024-05-01T12:02:30Z"]) == 0
    out = capsys.readouterr().out
    assert "version 3, SeverityChanged at 2024-05-01T12:02:00Z" in out
    assert "severity:" in out and "panic" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "no-such-issue"], "no issue with id no-such-issue in the audit store"),
        (["audit", ISSUE, "--at", "noon"], "'noon' is not a time: use ISO 8601"),
        (["audit", ISSUE, "--version", "9"], "has no version 9: recorded versions are 1-3, 6"),
        (["audit", ISSUE, "--version", "5"], "has no version 5"),
        (["audit", ISSUE, "--at", "2024-05-01T11:00:00Z"], "did not exist yet at"),
    ],
)
def test_what_cannot_be_answered_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("alertfold: ")
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1
