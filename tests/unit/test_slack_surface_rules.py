"""The rules behind the modals: who may move what where, manual issues, details, silences."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.alert import Alert
from domain.interactions import Actor, InteractionKind
from domain.severity import Severity
from gateways.slack.details_modal import details_view
from gateways.slack.manual_issue import manual_alert
from gateways.slack.move_modal import move_refusal, target_problem
from gateways.slack.option_buttons import option_blocks
from gateways.slack.permissions import InvalidPermissions, NotAllowed, SlackPermissions
from gateways.slack.silence_choice import issue_silence
from gateways.slack.surface_requests import SilenceChosen
from gateways.slack.usergroups import Admins, UserGroupMembers
from harness.stories import BASE_TIME, IssueStory, alert_json, issue_event
from projections.lookup import issue_row, issue_view

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = Actor(kind="slack_user", id="U0ALICE", name="alice")


def view_of(**fields: Any) -> dict[str, Any]:
    return issue_view(issue_row(issue_event(channel_id="C1", **fields)))


# -- moving ------------------------------------------------------------------------------


def test_open_and_resolved_issues_may_move_archived_ones_and_unknown_ones_not() -> None:
    story = IssueStory(channel_id="C1")
    assert move_refusal(issue_view(issue_row(story.opened()))) == ""
    assert move_refusal(issue_view(issue_row(story.resolved()))) == ""
    assert "archived" in move_refusal(view_of(status="archived"))
    assert "not an alertfold issue" in move_refusal(None)


def test_an_issue_whose_alert_escalates_moves_only_by_its_escalation() -> None:
    alert = alert_json(
        channel_id="C1",
        correlation_id="db",
        header="Database down",
        text="",
        severity=Severity.ERROR,
        timestamp=NOW,
    )
    escalating = {**alert, "escalation": [{"severity": "panic", "delaySeconds": 60}]}
    assert "escalation" in move_refusal(view_of(last_alert=escalating))


def test_the_target_must_differ_and_hold_the_bot() -> None:
    issue = view_of()
    assert target_problem(issue, "C2", True) == ""
    assert target_problem(issue, None, None) == "Choose a channel."
    assert "already" in target_problem(issue, "C1", True)
    assert "Invite alertfold" in target_problem(issue, "C2", False)
    assert "cannot see" in target_problem(issue, "C9", None)


# -- admins by user group ----------------------------------------------------------------


def test_permissions_file_names_admin_user_groups_globally_and_per_channel() -> None:
    permissions = SlackPermissions.from_json_obj(
        {
            "global_admin_user_groups": ["S0OPS"],
            "channels": {"c1": {"admin_user_groups": ["S0DB"]}},
        }
    )
    assert not permissions.anyone_is_admin
    assert permissions.admin_user_groups("C1") == {"S0OPS", "S0DB"}
    assert permissions.admin_user_groups(None) == {"S0OPS"}
    with pytest.raises(InvalidPermissions, match="admin_user_groups"):
        SlackPermissions.from_json_obj({"channels": {"C1": {"admin_user_groups": "S0DB"}}})


class Lister:
    """usergroups.users.list as Slack would answer it, counting the calls."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups
        self.calls: list[str] = []

    async def __call__(self, group_id: str) -> list[str]:
        self.calls.append(group_id)
        if group_id not in self.groups:
            raise LookupError("no_such_subteam")
        return self.groups[group_id]


def test_a_member_of_a_channels_admin_group_is_admin_there_only() -> None:
    permissions = SlackPermissions.from_json_obj(
        {"channels": {"C1": {"admin_user_groups": ["S0DB"]}}}
    )
    admins = Admins(permissions, UserGroupMembers(Lister({"S0DB": ["U0ALICE"]})))

    async def check() -> None:
        assert await admins.is_admin("U0ALICE", "C1")
        assert not await admins.is_admin("U0ALICE", "C2")
        assert not await admins.is_admin("U0BOB", "C1")
        assert not await admins.is_global_admin("U0ALICE")
        await admins.check_may("U0ALICE", "C1", InteractionKind.RESOLVED)
        with pytest.raises(NotAllowed):
            await admins.check_may("U0BOB", "C1", InteractionKind.RESOLVED)

    asyncio.run(check())


def test_group_members_are_cached_for_the_ttl_and_failures_count_as_nobody() -> None:
    lister = Lister({"S0DB": ["U0ALICE"]})
    now = [0.0]
    members = UserGroupMembers(lister, ttl=300, clock=lambda: now[0])

    async def check() -> None:
        assert await members.members("S0DB") == {"U0ALICE"}
        assert await members.members("S0DB") == {"U0ALICE"}
        assert lister.calls == ["S0DB"]
        now[0] = 301
        lister.groups["S0DB"] = ["U0BOB"]
        assert await members.members("S0DB") == {"U0BOB"}
        assert await members.members("S0GONE") == frozenset()
        assert await members.members("S0GONE") == frozenset()
        assert lister.calls == ["S0DB", "S0DB", "S0GONE"]

    asyncio.run(check())


def test_a_failing_group_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    members = UserGroupMembers(Lister({}), ttl=300, clock=lambda: now[0])

    async def ask_often() -> None:
        for step in range(3):
            now[0] = step * 100.0  # past the failure's short cache each time
            await members.members("S0GONE")

    asyncio.run(ask_often())
    assert len([r for r in caplog.records if "S0GONE" in r.getMessage()]) == 1


# -- opening an issue by hand ------------------------------------------------------------


def test_a_manual_issue_is_a_valid_slack_manager_alert_by_the_user() -> None:
    values = {
        "channel": "C1",
        "header": "Payments slow",
        "body": "p99 over 2 s",
        "severity": "warning",
        "auto_resolve": "30",
    }
    alert, errors = manual_alert(values, ALICE, NOW)
    assert errors == {} and alert is not None
    parsed = Alert.from_json_obj(alert)
    assert parsed.correlation_id.startswith("manual-")
    assert (parsed.slack_channel_id, parsed.header, parsed.author) == (
        "C1",
        "Payments slow",
        "alice",
    )
    assert parsed.issue_follow_up_enabled and parsed.auto_resolve_seconds == 1800
    other, _ = manual_alert(values, ALICE, NOW)
    assert other is not None and other["correlationId"] != alert["correlationId"]


def test_the_same_modal_submitted_again_opens_no_second_issue() -> None:
    values = {"channel": "C1", "header": "Payments slow", "severity": "warning"}
    first, _ = manual_alert(values, ALICE, NOW, view_id="V0123")
    again, _ = manual_alert(values, ALICE, NOW, view_id="V0123")
    other, _ = manual_alert(values, ALICE, NOW, view_id="V0456")
    assert first is not None and again is not None and other is not None
    assert first["correlationId"] == again["correlationId"] != other["correlationId"]


def test_manual_issue_problems_are_reported_per_input() -> None:
    alert, errors = manual_alert({"severity": "loud", "auto_resolve": "soon"}, ALICE, NOW)
    assert alert is None
    assert set(errors) == {"channel", "header", "severity", "auto_resolve"}


# -- details, options, silences ----------------------------------------------------------


PAGE = "http://alertfold.example/ui/issues/issue-1"


def test_details_show_the_issue_people_and_a_link_to_its_page() -> None:
    issue = view_of(correlation_id="db", header="Database down")
    issue["acknowledged_by"] = {"kind": "slack_user", "id": "U0BOB", "name": "bob"}
    view = details_view(issue, PAGE)
    text = str(view["blocks"])
    for expected in (
        "issue-1",
        "<#C1>",
        "`db`",
        "open",
        "error",
        "<@U0BOB>",
        f"<{PAGE}|This issue and its history in alertfold>",
    ):
        assert expected in text
    assert view["type"] == "modal" and len(view["title"]["text"]) <= 24


def test_details_without_an_address_people_can_open_have_no_link() -> None:
    view = details_view(view_of(correlation_id="db"), "")
    assert not [b for b in view["blocks"] if b["type"] == "context"]
    assert "<|" not in str(view["blocks"])


HOSTILE = "<!channel> <@U1> <https://evil|https://ok>"


def hostile_issue() -> dict[str, Any]:
    """An issue whose alert tries to ping everyone and disguise a link wherever it can."""
    alert = alert_json(
        channel_id="C1",
        correlation_id=HOSTILE,
        header=HOSTILE,
        text=HOSTILE,
        severity=Severity.ERROR,
        timestamp=BASE_TIME,
    )
    alert["fields"] = [{"title": HOSTILE, "value": HOSTILE}]
    return view_of(correlation_id=HOSTILE, header=HOSTILE, text=HOSTILE, last_alert=alert)


def modal_texts(view: dict[str, Any]) -> list[str]:
    blocks = view["blocks"]
    texts = [b["text"]["text"] for b in blocks if "text" in b]
    texts += [f["text"] for b in blocks for f in b.get("fields", [])]
    return texts + [e["text"] for b in blocks for e in b.get("elements", [])]


def test_details_show_what_an_alert_says_without_pinging_or_disguising_a_link() -> None:
    view = details_view(hostile_issue(), PAGE)
    texts = modal_texts(view)
    shown = "\n".join(texts)
    for acting in ("<!channel>", "<@U1>", "<https://evil"):
        assert acting not in shown
    escaped = "&lt;!channel&gt; &lt;@U1&gt; &lt;https://evil|https://ok&gt;"
    header, text = view["blocks"][0]["text"]["text"], view["blocks"][2]["text"]["text"]
    assert header == escaped and text == f"*Latest alert*\n{escaped}"
    assert f"*{escaped}*\n{escaped}" in texts  # the alert's field
    assert f"*Correlation id*\n`{escaped}`" in texts
    assert f"<{PAGE}|This issue and its history in alertfold>" in texts


def test_details_keep_an_alerts_links_only_when_the_installation_reads_mrkdwn() -> None:
    view = details_view(hostile_issue(), "http://alertfold.example/h", markup="mrkdwn")
    text = view["blocks"][2]["text"]["text"]
    assert text == "*Latest alert*\n&lt;!channel&gt; &lt;@U1&gt; <https://evil|https://ok>"
    assert view["blocks"][0]["text"]["text"].startswith("&lt;!channel&gt;")  # headers never


def test_option_buttons_show_the_alerts_header_as_written() -> None:
    [intro, _] = option_blocks(hostile_issue())
    assert intro["text"]["text"] == (
        "Options for *&lt;!channel&gt; &lt;@U1&gt; &lt;https://evil|https://ok&gt;*"
    )


def test_option_buttons_offer_move_only_while_open() -> None:
    def actions(issue: dict[str, Any]) -> list[str]:
        return [e["action_id"] for e in option_blocks(issue)[1]["elements"]]

    assert actions(view_of()) == ["alertfold:move", "alertfold:details", "alertfold:silence"]
    assert actions(view_of(status="resolved")) == ["alertfold:details", "alertfold:silence"]


def test_option_buttons_offer_the_configured_silence_durations() -> None:
    [*_, menu] = option_blocks(view_of(), (timedelta(minutes=5), timedelta(hours=2)))[1]["elements"]
    assert [o["text"]["text"] for o in menu["options"]] == ["5 min", "2 h"]


def test_a_silence_from_slack_matches_the_issues_channel_and_correlation_id() -> None:
    chosen = SilenceChosen("issue-1", 3600, "C1", ALICE, NOW)
    silence = issue_silence(view_of(correlation_id="db"), chosen, "s-1")
    assert silence.matches({"slackChannelId": "C1", "correlationId": "db"})
    assert not silence.matches({"slackChannelId": "C1", "correlationId": "other"})
    assert (silence.starts_at, silence.ends_at) == (NOW, NOW + timedelta(hours=1))
    assert (silence.created_by, silence.comment) == ("alice", "silenced from Slack")
