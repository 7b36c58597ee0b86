"""Reading back alertfold's own alert JSON: the same alert as validation gives, for less."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.alert import Alert
from domain.alert_own_json import read_own_alert
from domain.errors import AlertRejected

FULL = {
    "slackChannelId": "c123",
    "correlationId": "disk-db1",
    "timestamp": "2026-12-01T10:00:00.123456+02:00",
    "type": "Disk",
    "header": "  Disk full on :db:  ",
    "headerWhenResolved": "Disk fine",
    "text": "/var at 99%\n\nsecond line",
    "textWhenResolved": "back to 40%",
    "fallbackText": "disk",
    "author": "monitor",
    "host": "db1",
    "footer": "runbook",
    "link": "https://runbooks.example/disk",
    "issueFollowUpEnabled": True,
    "autoResolveSeconds": 600,
    "autoResolveAsInconclusive": True,
    "severity": "critical",
    "routeKey": "DB",
    "username": "alerts",
    "iconEmoji": ":fire:",
    "fields": [{"title": "mount", "value": "/var"}, {"title": "used", "value": "99%"}],
    "notificationDelaySeconds": 30,
    "archivingDelaySeconds": 60,
    "escalation": [
        {"severity": "panic", "delaySeconds": 900, "slackMentions": ["<!here>"]},
        {"severity": "warning", "delaySeconds": 300, "moveToChannel": "C999"},
    ],
    "ignoreIfTextContains": ["maintenance"],
    "failOnRateLimitError": True,
    "metadata": {"team": "db", "nested": {"n": [1, 2]}},
}

client_alerts = st.fixed_dictionaries(
    {"slackChannelId": st.sampled_from(["C1", "alerts-db"])},
    optional={
        "header": st.text(max_size=200),
        "text": st.text(min_size=1, max_size=300),
        "severity": st.sampled_from(["panic", "error", "warning", "info", "resolved", "Critical"]),
        "timestamp": st.datetimes(timezones=st.timezones()).map(lambda at: at.isoformat()),
        "issueFollowUpEnabled": st.booleans(),
        "autoResolveSeconds": st.integers(min_value=0, max_value=10_000_000),
        "fields": st.lists(
            st.fixed_dictionaries({"title": st.text(max_size=40), "value": st.text(max_size=40)}),
            max_size=3,
        ),
        "ignoreIfTextContains": st.lists(st.text(max_size=20), max_size=3),
        "metadata": st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8)),
        "link": st.sampled_from(["", "https://example.com/a", "http://x"]),
    },
)


def _accepted(obj: dict[str, Any]) -> Alert | None:
    try:
        return Alert.from_json_obj(obj)
    except AlertRejected:
        return None


def test_own_json_reads_back_as_the_alert_it_was_written_from() -> None:
    alert = Alert.from_json_obj(FULL)
    read = read_own_alert(alert.to_json_obj())
    validated = Alert.from_json_obj(alert.to_json_obj(), canonical=True)
    assert read == alert == validated
    assert read.model_dump_json() == alert.model_dump_json()
    assert read.model_fields_set == validated.model_fields_set
    assert read.__dict__ == Alert.model_construct(**read.__dict__).__dict__
    assert list(read.__dict__) == list(Alert.model_fields)


@settings(max_examples=300, deadline=None)
@given(client_alerts)
def test_any_accepted_alert_reads_back_byte_for_byte(obj: dict[str, Any]) -> None:
    alert = _accepted(obj)
    if alert is None:
        return
    read = read_own_alert(alert.to_json_obj())
    assert read == alert
    assert read.model_dump_json() == alert.model_dump_json()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda obj: obj.pop("author"), id="key missing"),
        pytest.param(lambda obj: obj.update(headr="typo"), id="unknown key"),
        pytest.param(lambda obj: obj.update(severity="Critical"), id="severity spelled otherwise"),
        pytest.param(lambda obj: obj.update(timestamp="2026-12-01T10:00:00+02:00"), id="offset"),
        pytest.param(lambda obj: obj.update(autoResolveSeconds="600"), id="number as text"),
    ],
)
def test_json_of_another_shape_is_validated_in_full(change: Any) -> None:
    obj = Alert.from_json_obj(FULL).to_json_obj()
    change(obj)
    assert read_own_alert(obj) == Alert.from_json_obj(obj, canonical=True)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda obj: obj.update(severity="loud"), "severity"),
        (lambda obj: obj.update(issueFollowUpEnabled="perhaps"), "issueFollowUpEnabled"),
        (lambda obj: obj.update(fields=[{"title": 1}]), "fields.0.title"),
        (lambda obj: obj.update(header="", text=""), "header"),
    ],
)
def test_invalid_json_in_the_own_format_is_refused_with_the_field(change: Any, field: str) -> None:
    obj = Alert.from_json_obj(FULL).to_json_obj()
    change(obj)
    with pytest.raises(AlertRejected) as refused:
        read_own_alert(obj)
    assert field in [problem["field"] for problem in refused.value.problems]


def test_alert_with_webhooks_takes_the_validated_path() -> None:
    sealed = {"__encrypted_data": "opaque"}
    hook = {"id": "restart", "buttonText": "Restart", "url": sealed, "payload": sealed}
    alert = Alert.from_json_obj({**FULL, "webhooks": [hook]})
    assert read_own_alert(alert.to_json_obj()) == alert
