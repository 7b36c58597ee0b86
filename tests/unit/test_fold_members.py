"""An issue fed by Alertmanager follows its member alerts, on inputs alone: no Kafka, no clock.

Each step is one alert as an Alertmanager webhook carries it, mapped as the API maps it, and
received at a given second; Alertmanager re-sends every firing alert of the group at each
flush with its original `startsAt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from domain.alertmanager import read_alertmanager_alerts
from domain.deadlines import DeadlineKind, deadlines_of
from domain.fold import AlertReceived, Folded, FoldOutcome, TickReceived, fold_alert, fold_tick
from domain.issue_state import IssueState
from domain.records import InputPosition
from domain.severity import Severity
from domain.silences import Matcher, Silence

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STARTED = "2026-11-23T08:00:00Z"


def am_alert(
    instance: str,
    status: str = "firing",
    severity: str = "critical",
    starts_at: str = STARTED,
    truncated: int = 0,
    **annotations: str,
) -> AlertReceived:
    """One DiskFull alert; all instances share the correlation id (from alertname)."""
    sent = {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": instance, "severity": severity},
        "annotations": {"summary": f"Disk full on {instance}", **annotations},
        "startsAt": starts_at,
        "endsAt": "2026-11-23T09:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{instance}",
    }
    batch = read_alertmanager_alerts([sent], "C123", truncated_alerts=truncated)
    [read] = batch.alerts
    return AlertReceived(read.alert, InputPosition(topic="alerts", partition=0, offset=0), T0)


@dataclass
class Channel:
    """Folds alerts into one issue as the worker does, each received `at` seconds after T0."""

    state: IssueState | None = None
    offset: int = 0
    results: list[Folded] = field(default_factory=list)
    silences: tuple[Silence, ...] = ()

    def receive(self, alert: AlertReceived, at: int) -> Folded:
        self.offset += 1
        positioned = AlertReceived(
            alert.alert,
            InputPosition(topic="alerts", partition=0, offset=self.offset),
            T0 + timedelta(seconds=at),
            silences=self.silences,
        )
        folded = fold_alert(self.state, positioned)
        self.state = folded.state
        self.results.append(folded)
        return folded

    def flush(self, at: int, *alerts: AlertReceived) -> list[Folded]:
        """One webhook: its alerts, in the order Alertmanager listed them."""
        return [self.receive(alert, at) for alert in alerts]

    def tick(self, at: int) -> Folded:
        self.offset += 1
        tick = TickReceived(
            T0 + timedelta(seconds=at),
            InputPosition(topic="ticks", partition=0, offset=self.offset),
            silences=self.silences,
        )
        assert self.state is not None
        folded = fold_tick(self.state, tick)
        self.state = folded.state
        return folded

    @property
    def issue(self) -> IssueState:
        assert self.state is not None
        return self.state

    def members(self) -> dict[str, str]:
        return {m.labels["instance"]: m.status for m in self.issue.members}


FOUR = ("db-1", "db-2", "db-3", "db-4")


def four_firing() -> Channel:
    channel = Channel()
    channel.flush(0, *(am_alert(i) for i in FOUR))
    return channel


def test_four_alerts_of_a_group_fold_into_one_issue_with_four_members() -> None:
    channel = four_firing()

    assert [r.outcome for r in channel.results] == [FoldOutcome.OPENED] + 3 * [FoldOutcome.GROUPED]
    assert channel.members() == dict.fromkeys(FOUR, "firing")
    assert channel.issue.alert_count == 4


def test_one_member_resolving_keeps_the_issue_open_while_the_others_fire() -> None:
    channel = four_firing()

    folded = channel.flush(
        300, am_alert("db-2", "resolved"), *(am_alert(i) for i in FOUR if i != "db-2")
    )

    assert channel.issue.status == "open"
    assert [f.outcome for f in folded] == 4 * [FoldOutcome.GROUPED]
    assert channel.members() == {
        "db-1": "firing",
        "db-2": "resolved",
        "db-3": "firing",
        "db-4": "firing",
    }
    member = next(m for m in channel.issue.members if m.fingerprint == "fp-db-2")
    assert member.ends_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_the_issue_resolves_when_its_last_firing_member_resolves() -> None:
    channel = four_firing()
    channel.flush(300, *(am_alert(i, "resolved") for i in FOUR[:3]), am_alert("db-4"))

    folded = channel.receive(am_alert("db-4", "resolved"), 600)

    assert folded.outcome is FoldOutcome.RESOLVED
    assert channel.issue.status == "resolved"
    assert channel.issue.resolution == "alert"


def test_re_sends_of_firing_members_count_once_and_refresh_last_seen() -> None:
    channel = four_firing()

    channel.flush(300, *(am_alert(i) for i in FOUR))
    channel.flush(3900, *(am_alert(i) for i in FOUR))

    assert channel.issue.alert_count == 4
    assert {m.last_seen for m in channel.issue.members} == {T0 + timedelta(seconds=3900)}
    assert channel.issue.status == "open"


def test_re_sends_with_their_old_starts_at_are_not_stale() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1"), 0)
    channel.receive(am_alert("db-2", starts_at="2026-11-23T08:50:00Z"), 10)

    folded = channel.receive(am_alert("db-1"), 300)

    assert folded.outcome is FoldOutcome.GROUPED


def test_a_member_firing_again_reopens_the_issue_and_counts_a_new_occurrence() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1"), 0)
    channel.receive(am_alert("db-1", "resolved"), 300)

    folded = channel.receive(am_alert("db-1", starts_at="2026-11-23T09:10:00Z"), 600)

    assert folded.outcome is FoldOutcome.REOPENED
    assert channel.issue.status == "open"
    assert channel.issue.alert_count == 2


def test_a_late_report_about_an_older_occurrence_is_stale() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", starts_at="2026-11-23T08:30:00Z"), 0)

    folded = channel.receive(am_alert("db-1", "resolved", starts_at="2026-11-23T08:00:00Z"), 10)

    assert folded.outcome is FoldOutcome.IGNORED_STALE
    assert channel.issue.status == "open"


def test_a_repeated_resolve_of_a_member_changes_nothing() -> None:
    channel = Channel()
    channel.flush(0, am_alert("db-1"), am_alert("db-2"))
    channel.receive(am_alert("db-1", "resolved"), 300)

    folded = channel.receive(am_alert("db-1", "resolved"), 310)

    assert folded.outcome is FoldOutcome.IGNORED_ALREADY_RESOLVED and not folded.events


def test_severity_is_the_highest_firing_member_and_the_history_names_the_member() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", severity="critical"), 0)
    for n, severity in enumerate(("warning", "info", "warning"), start=1):
        channel.receive(am_alert(f"db-{n + 1}", severity=severity), n * 10)
    assert channel.issue.severity is Severity.ERROR

    folded = channel.receive(am_alert("db-1", "resolved"), 300)

    assert channel.issue.severity is Severity.WARNING
    changed = [e for e in folded.events if e.type == "SeverityChanged"]
    assert [e.data for e in changed] == [
        {"previous": "error", "severity": "warning", "member": "fp-db-1"}
    ]


def test_a_resend_of_a_lower_member_leaves_the_severity_alone() -> None:
    channel = Channel()
    channel.flush(0, am_alert("db-1", severity="critical"), am_alert("db-2", severity="warning"))

    folded = channel.receive(am_alert("db-2", severity="warning"), 300)

    assert channel.issue.severity is Severity.ERROR
    assert [e.type for e in folded.events] == ["AlertGrouped"]


def test_an_info_member_is_followed_up_not_archived_while_it_fires() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", severity="info"), 0)

    kinds = {d.kind for d in deadlines_of(channel.issue)}

    assert DeadlineKind.ARCHIVE not in kinds and DeadlineKind.AUTO_RESOLVE in kinds
    assert channel.tick(60).outcome is FoldOutcome.NOTHING_DUE


def test_a_starts_at_in_the_future_does_not_make_later_reports_stale() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", starts_at="2026-11-23T10:00:00Z"), 0)  # clock ahead

    folded = channel.receive(am_alert("db-1", starts_at="2026-11-23T09:01:00Z"), 90)

    assert folded.outcome is FoldOutcome.GROUPED
    assert channel.issue.alert_count == 2


def test_ordering_uses_the_time_the_alert_was_received() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1"), 0)

    channel.receive(am_alert("db-1"), 600)

    assert channel.issue.last_alert_at == T0 + timedelta(seconds=600)
    assert channel.issue.opened_at == T0


def test_a_resend_reopens_an_issue_auto_resolved_while_its_member_fired() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", autoResolveSeconds="600"), 0)
    assert channel.tick(700).state is not None and channel.issue.resolution == "inconclusive"

    folded = channel.receive(am_alert("db-1", autoResolveSeconds="600"), 900)

    assert folded.outcome is FoldOutcome.REOPENED


def test_a_resend_does_not_reopen_an_issue_resolved_by_hand() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1"), 0)
    resolved = channel.issue.model_copy(update={"status": "resolved", "resolution": "manual"})
    channel.state = resolved

    folded = channel.receive(am_alert("db-1"), 300)

    assert folded.outcome is FoldOutcome.IGNORED_ALREADY_RESOLVED


def test_truncated_alerts_are_recorded_on_the_issue() -> None:
    channel = Channel()
    channel.receive(am_alert("db-1", truncated=3), 0)
    assert channel.issue.truncated_alerts == 3

    channel.receive(am_alert("db-1"), 300)

    assert channel.issue.truncated_alerts == 0


def test_the_issue_is_silenced_only_while_every_firing_member_is() -> None:
    one = Silence(
        id="s1",
        matchers=(Matcher(name="instance", value="db-1"),),
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
        created_by="ann",
    )
    channel = Channel(silences=(one,))
    channel.flush(0, am_alert("db-1"), am_alert("db-2"))
    assert channel.issue.silence_id is None

    channel.receive(am_alert("db-2", "resolved"), 60)

    assert channel.issue.silence_id == "s1"


def test_a_silence_on_a_label_name_silences_the_issue_as_in_alertmanager() -> None:
    rule = Silence(
        id="s1",
        matchers=(Matcher(name="alertname", value="DiskFull"),),
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
        created_by="ann",
    )
    channel = Channel(silences=(rule,))

    channel.flush(0, am_alert("db-1"), am_alert("db-2"))

    assert channel.issue.silence_id == "s1"
