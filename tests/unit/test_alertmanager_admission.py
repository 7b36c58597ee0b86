"""Alertmanager's alerts are admitted one by one: a bad alert is set aside, never its group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import AlertRejected
from domain.intake import admit_alertmanager, admit_postable_alerts
from domain.member_alerts import label_fingerprint
from domain.routing import RouteTable

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def am_alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", **labels},
        "annotations": {"summary": "Disk full"},
        "startsAt": "2026-11-23T08:59:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{labels.get('instance', '')}",
    }


def webhook(*alerts: dict[str, Any], truncated: int = 0) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": "firing",
        "receiver": "alertfold",
        "truncatedAlerts": truncated,
        "alerts": list(alerts),
    }


def test_a_bad_alert_is_rejected_and_the_valid_one_of_its_group_accepted() -> None:
    bad = am_alert(instance="db-2", channel="#ops-alerts")
    admission = admit_alertmanager(
        webhook(am_alert(instance="db-1"), bad), routes=RouteTable(), now=NOW, path_channel="C1"
    )

    assert [a.metadata["labels"]["instance"] for a in admission.accepted] == ["db-1"]
    [rejected] = admission.rejected
    assert (rejected.index, rejected.sent) == (1, bad)
    assert [p["field"] for p in rejected.problems] == ["alerts.1.slackChannelId"]


def test_an_alert_that_is_not_an_alertmanager_alert_is_rejected_alone() -> None:
    admission = admit_alertmanager(
        webhook(am_alert(instance="db-1"), {"labels": "nope"}),
        routes=RouteTable(),
        now=NOW,
        path_channel="C1",
    )

    assert len(admission.accepted) == 1
    assert [(r.index, r.problems[0]["field"]) for r in admission.rejected] == [
        (1, "alerts.1.labels")
    ]


def test_a_payload_that_is_no_webhook_is_still_refused_whole() -> None:
    with pytest.raises(AlertRejected):
        admit_alertmanager({"version": "3", "alerts": [am_alert()]}, routes=RouteTable(), now=NOW)


def test_truncated_alerts_are_told_by_the_admission_and_carried_by_each_alert() -> None:
    admission = admit_alertmanager(
        webhook(am_alert(instance="db-1"), am_alert(instance="db-2"), truncated=3),
        routes=RouteTable(),
        now=NOW,
        path_channel="C1",
    )

    assert admission.truncated_alerts == 3
    assert admission.group_key == '{}:{alertname="DiskFull"}'
    assert [a.metadata["truncatedAlerts"] for a in admission.accepted] == [3, 3]


def test_an_alert_without_a_fingerprint_gets_alertmanagers_fingerprint_of_its_labels() -> None:
    alert = {**am_alert(instance="db-1"), "fingerprint": ""}
    admission = admit_alertmanager(webhook(alert), routes=RouteTable(), now=NOW, path_channel="C1")

    fingerprint = admission.accepted[0].metadata["fingerprint"]
    assert fingerprint == label_fingerprint({"alertname": "DiskFull", "instance": "db-1"})


def test_the_label_fingerprint_is_alertmanagers() -> None:
    # What Alertmanager 0.35's API answered for alerts with these labels.
    assert label_fingerprint({"alertname": "DiskFull", "instance": "db-1"}) == "fd807b82f98f9135"
    assert label_fingerprint({"alertname": "Ünïcode", "a": "b"}) == "548966bb9d4e68bd"


# -- POST /api/v2/alerts ----------------------------------------------------------------------


def posted(**fields: Any) -> dict[str, Any]:
    return {"labels": {"alertname": "DiskFull", "instance": "db-1", "channel": "C1"}, **fields}


def test_a_posted_alert_without_an_end_fires_from_now() -> None:
    [alert] = admit_postable_alerts([posted()], routes=RouteTable(), now=NOW).accepted

    assert alert.metadata["status"] == "firing"
    assert alert.metadata["startsAt"] == NOW.isoformat()
    assert alert.severity.value == "error"


def test_a_posted_alert_whose_end_has_passed_is_resolved() -> None:
    ended = (NOW - timedelta(seconds=1)).isoformat()
    [alert] = admit_postable_alerts([posted(endsAt=ended)], routes=RouteTable(), now=NOW).accepted

    assert alert.metadata["status"] == "resolved"
    assert alert.severity.value == "resolved"


def test_a_posted_alert_whose_end_is_ahead_still_fires() -> None:
    ends = (NOW + timedelta(minutes=4)).isoformat()
    [alert] = admit_postable_alerts([posted(endsAt=ends)], routes=RouteTable(), now=NOW).accepted

    assert alert.metadata["status"] == "firing"


def test_empty_labels_are_dropped_and_an_alert_left_without_labels_is_rejected() -> None:
    admission = admit_postable_alerts(
        [posted(), {"labels": {"alertname": ""}}], routes=RouteTable(), now=NOW
    )

    assert len(admission.accepted) == 1
    assert [(r.index, r.problems[0]["field"]) for r in admission.rejected] == [
        (1, "alerts.1.labels")
    ]


def test_a_posted_body_must_be_a_list() -> None:
    with pytest.raises(AlertRejected):
        admit_postable_alerts(posted(), routes=RouteTable(), now=NOW)
