"""A real Alertmanager 0.35 routes its alerts to the product with a webhook receiver, and a
real amtool manages alertfold's silences and reads its alerts.

Alertmanager groups by alertname, flushes every second and re-sends every firing alert of a
group every 2 s (`send_resolved: true`), so each test sees its alerts re-sent many times.
Each test has its own scenario (a receiver with its own channel) and alert name.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.waiting import eventually
from tests.support.alertmanager import (
    Alertmanager,
    Receiver,
    alert,
    resolved,
    running_alertmanager,
)
from tests.support.product import Product

pytestmark = pytest.mark.integration

SUFFIX = uuid.uuid4().hex[:6].upper()
SCENARIOS = ("partial", "counts", "severity", "badchannel", "truncated", "info", "future")
CHANNELS = {s: f"CAM{s[:4].upper()}{SUFFIX}" for s in (*SCENARIOS, "amtool")}


def channel_of(scenario: str) -> str:
    return CHANNELS[scenario]


@pytest.fixture(scope="module")
def alertmanager(
    sqlite_product: Product, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alertmanager]:
    api = sqlite_product.api_url
    receivers = [
        Receiver(scenario, f"{api}/prometheus-alert/{channel}")
        for scenario, channel in CHANNELS.items()
        if scenario not in ("truncated", "info")
    ]
    # Alert Bridge's path is an alias of Slack Manager's.
    receivers.append(
        Receiver("truncated", f"{api}/alertmanager/webhook/{CHANNELS['truncated']}", max_alerts=2)
    )
    # Alertmanager's default: nothing is re-sent for hours once the group was notified.
    receivers.append(
        Receiver("info", f"{api}/prometheus-alert/{CHANNELS['info']}", repeat_interval="1h")
    )
    workdir: Path = tmp_path_factory.mktemp("alertmanager")
    with running_alertmanager(workdir, receivers) as manager:
        yield manager


@pytest.fixture(scope="module")
def info_alert_sent(alertmanager: Alertmanager) -> float:
    """An info alert sent when the module starts (its test needs 30 s to pass)."""
    alertmanager.post_alerts(alert(f"Info{SUFFIX}", "info", severity="info"))
    return time.monotonic()


def issue_of(product: Product, scenario: str, **expected: Any) -> dict[str, Any]:
    return product.wait_for_issue(channel_id=channel_of(scenario), **expected)


def members(issue: dict[str, Any]) -> dict[str, str]:
    return {m["labels"].get("instance", ""): m["status"] for m in issue["members"]}


def seen_again(product: Product, issue_id: str, after: datetime) -> dict[str, Any]:
    """The issue once every firing member was re-sent after `after`."""

    def probe() -> dict[str, Any] | None:
        issue = product.get(f"/issues/{issue_id}").json()
        firing = [m for m in issue["members"] if m["status"] == "firing"]
        fresh = all(datetime.fromisoformat(m["last_seen"]) > after for m in firing)
        return issue if firing and fresh else None

    return eventually(probe, timeout=30, what="a re-send of every firing member")


def quiet(manager: Alertmanager, *sent: dict[str, Any]) -> None:
    """Resolve what a test sent, so Alertmanager stops re-sending it."""
    manager.post_alerts(*(resolved(a) for a in sent))


def test_a_member_resolving_keeps_the_issue_open_while_the_others_fire(
    sqlite_product: Product, alertmanager: Alertmanager, info_alert_sent: float
) -> None:
    sent = [alert(f"DiskFull{SUFFIX}", "partial", instance=f"db-{n}") for n in range(1, 5)]
    alertmanager.post_alerts(*sent)
    issue = issue_of(sqlite_product, "partial", alert_count=4)
    assert members(issue) == {f"db-{n}": "firing" for n in range(1, 5)}

    alertmanager.post_alerts(resolved(sent[1]))
    issue = eventually(
        lambda: (
            (found := sqlite_product.get(f"/issues/{issue['id']}").json())
            and members(found)["db-2"] == "resolved"
            and found
        ),
        what="db-2 resolved on the issue",
    )
    assert issue["status"] == "open"
    again = seen_again(sqlite_product, issue["id"], datetime.now(UTC) + timedelta(seconds=1))
    assert again["status"] == "open"
    assert members(again) == {"db-1": "firing", "db-2": "resolved", "db-3": "firing"} | {
        "db-4": "firing"
    }

    quiet(alertmanager, *sent)
    closed = issue_of(sqlite_product, "partial", status="resolved")
    assert closed["id"] == issue["id"] and closed["resolution"] == "alert"
    assert set(members(closed).values()) == {"resolved"}


def test_re_sends_do_not_inflate_the_count_and_the_header_has_no_placeholder(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    sent = [alert(f"Counted{SUFFIX}", "counts", instance=f"db-{n}") for n in range(1, 5)]
    alertmanager.post_alerts(*sent)
    issue = issue_of(sqlite_product, "counts", alert_count=4)

    for _ in range(3):  # three more flushes of the whole group, at least
        issue = seen_again(sqlite_product, issue["id"], datetime.now(UTC))

    assert issue["alert_count"] == 4
    assert ":status:" not in issue["header"]
    assert issue["header"].startswith(f"Counted{SUFFIX} on db-")
    quiet(alertmanager, *sent)


def test_severity_is_the_highest_firing_member_and_the_history_names_the_member(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    name = f"Severity{SUFFIX}"
    critical = alert(name, "severity", instance="db-1", severity="critical")
    alertmanager.post_alerts(critical)
    issue = issue_of(sqlite_product, "severity", severity="error")
    others = []
    for n, severity in enumerate(("error", "warning", "info", "error"), start=2):
        others.append(alert(name, "severity", instance=f"db-{n}", severity=severity))
        alertmanager.post_alerts(others[-1])
        issue_of(sqlite_product, "severity", alert_count=n)
        assert sqlite_product.get(f"/issues/{issue['id']}").json()["severity"] == "error"

    errors = [critical, others[0], others[3]]
    alertmanager.post_alerts(*(resolved(a) for a in errors))
    issue = issue_of(sqlite_product, "severity", severity="warning")

    fingerprint = next(
        a["fingerprint"]
        for a in httpx.get(f"{alertmanager.url}/api/v2/alerts?active=true").json()
        if a["labels"]["alertname"] == name and a["labels"]["instance"] == "db-3"
    )
    history = sqlite_product.get(f"/issues/{issue['id']}/history").json()
    changes = [e["summary"] for e in history if e["type"] == "SeverityChanged"]
    assert changes[-1].startswith("severity error → warning by alert instance=db-")
    warning = next(m for m in issue["members"] if m["labels"]["instance"] == "db-3")
    assert warning["fingerprint"] == fingerprint  # Alertmanager's own fingerprint
    quiet(alertmanager, critical, *others)


def test_one_bad_alert_does_not_lose_its_group_nor_make_alertmanager_retry(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    name = f"BadChannel{SUFFIX}"
    good = alert(name, "badchannel", instance="db-1")
    bad = alert(name, "badchannel", instance="db-2", channel="#ops-alerts")
    alertmanager.post_alerts(good, bad)

    issue = issue_of(sqlite_product, "badchannel")
    assert members(issue) == {"db-1": "firing"}
    path = f"POST /prometheus-alert/{channel_of('badchannel')}"

    def letters() -> list[dict[str, Any]]:
        found = [json.loads(r.value) for r in sqlite_product.records("alerts.dlq")]
        return [d for d in found if d["source"].get("http") == path]

    letter = eventually(letters, what="the bad alert on alerts.dlq")[0]
    assert "slackChannelId" in letter["reason"]
    assert letter["source"]["index"] in (0, 1)
    seen_again(sqlite_product, issue["id"], datetime.now(UTC))
    failed = alertmanager.metric("alertmanager_notifications_failed_total", integration="webhook")
    assert failed == 0, alertmanager.log.read_text()[-2000:]
    quiet(alertmanager, good, bad)


def test_truncated_alerts_are_recorded_logged_and_counted(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    sent = [alert(f"Truncated{SUFFIX}", "truncated", instance=f"db-{n}") for n in range(1, 6)]
    alertmanager.post_alerts(*sent)

    issue = issue_of(sqlite_product, "truncated", truncated_alerts=3)
    assert len(issue["members"]) == 2
    metrics = sqlite_product.get("/metrics").text
    counted = re.search(r"^alertfold_alertmanager_truncated_alerts_total ([\d.]+)$", metrics, re.M)
    assert counted is not None and float(counted[1]) >= 3
    assert "Alertmanager left 3 alert(s) out of a notification" in sqlite_product.log("api")
    quiet(alertmanager, *sent)


def test_a_future_starts_at_is_clamped_and_makes_nothing_stale(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    name = f"Future{SUFFIX}"
    ahead = {
        **alert(name, "future", instance="db-1"),
        "startsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "endsAt": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
    }
    alertmanager.post_alerts(ahead)
    issue = issue_of(sqlite_product, "future")
    right = alert(name, "future", instance="db-2")
    alertmanager.post_alerts(right)

    issue = issue_of(sqlite_product, "future", alert_count=2)
    now = datetime.now(UTC)
    assert datetime.fromisoformat(issue["opened_at"]) <= now
    assert datetime.fromisoformat(issue["last_alert"]["timestamp"]) <= now
    assert members(seen_again(sqlite_product, issue["id"], now)) == {
        "db-1": "firing",
        "db-2": "firing",
    }
    # Resolving an alert needs an end after its start: Alertmanager keeps the earlier start.
    quiet(alertmanager, {**ahead, "startsAt": (now - timedelta(seconds=1)).isoformat()}, right)


def test_an_info_alert_from_alertmanager_is_followed_up_not_archived(
    sqlite_product: Product, alertmanager: Alertmanager, info_alert_sent: float
) -> None:
    issue = issue_of(sqlite_product, "info", severity="info")

    # Fire-and-forget issues are archived 30 s after their last alert; this one was sent once.
    time.sleep(max(0.0, info_alert_sent + 33 - time.monotonic()))

    now = sqlite_product.get(f"/issues/{issue['id']}").json()
    assert now["status"] == "open" and now["version"] == issue["version"]


def test_amtool_silences_reach_the_issues_and_amtool_reads_alertfolds_alerts(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    name = f"Amtool{SUFFIX}"
    sent = [alert(name, "amtool", instance=f"db-{n}") for n in (1, 2)]
    alertmanager.post_alerts(*sent)
    issue = issue_of(sqlite_product, "amtool", alert_count=2)
    api = sqlite_product.api_url

    def amtool(*args: str) -> str:
        done = alertmanager.amtool(*args, url=api)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert amtool("config", "show").strip()
    on = f"{name} on db-"  # the summary column
    assert amtool("alert", "query", f"alertname={name}").count(on) == 2

    silence_id = amtool(
        "silence", "add", f"alertname={name}", "-c", "disk swap", "-a", "ana", "-d", "10m"
    ).strip()
    silenced = issue_of(sqlite_product, "amtool", silence_id=silence_id)
    assert silenced["silenced_until"] is not None
    assert silence_id in amtool("silence", "query", f"alertname={name}")
    assert on not in amtool("alert", "query", f"alertname={name}")  # active only
    assert amtool("alert", "query", "-s", f"alertname={name}").count(on) == 2

    updated = amtool("silence", "update", silence_id, "-c", "disk swap, longer")
    assert silence_id in updated and "disk swap, longer" in updated  # the same silence

    amtool("silence", "expire", silence_id)
    issue_of(sqlite_product, "amtool", silence_id=None)
    assert silence_id not in amtool("silence", "query", f"alertname={name}")
    assert silence_id in amtool("silence", "query", "--expired", f"alertname={name}")
    quiet(alertmanager, *sent)
    assert issue["id"] == silenced["id"]


def test_amtool_alert_add_posts_to_alertfold_as_prometheus_would(
    sqlite_product: Product, alertmanager: Alertmanager
) -> None:
    channel = f"CAMADD{SUFFIX}"
    done = alertmanager.amtool(
        "alert",
        "add",
        f"alertname=Added{SUFFIX}",
        f"channel={channel}",
        "severity=warning",
        "--annotation=summary=added by amtool",
        url=sqlite_product.api_url,
    )
    assert done.returncode == 0, done.stderr

    issue = sqlite_product.wait_for_issue(channel_id=channel)
    assert issue["severity"] == "warning"
    assert issue["header"] == "added by amtool"
    assert [m["status"] for m in issue["members"]] == ["firing"]


def test_an_alertmanager_shaped_silence_on_a_label_name_silences_the_issue(
    sqlite_product: Product,
) -> None:
    channel = f"CAMSIL{SUFFIX}"
    body = [{"labels": {"alertname": f"Shaped{SUFFIX}", "channel": channel}}]
    assert sqlite_product.post("/api/v2/alerts", body).status_code == 200
    issue = sqlite_product.wait_for_issue(channel_id=channel)
    now = datetime.now(UTC)
    silence = {
        "id": "",
        "matchers": [{"name": "alertname", "value": f"Shaped{SUFFIX}", "isRegex": False}],
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
        "createdBy": "ana",
        "comment": "as Alertmanager's PostableSilence",
    }

    response = sqlite_product.post("/silences", silence)

    assert response.status_code == 201, response.text
    sqlite_product.wait_for_issue(channel_id=channel, silence_id=response.json()["id"])
    assert issue["status"] == "open"
