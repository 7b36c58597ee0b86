"""An issue's Slack message is a pure function of its state."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from domain.issue_state import IssueSnapshot
from domain.severity import Severity
from gateways.slack.blocks import (
    BLOCKS_TEXT_BUDGET,
    SEVERITY_COLOUR,
    RenderedMessage,
    issue_id_of,
    issue_metadata,
    render_issue,
    status_line,
    text_length,
)
from gateways.slack.rendering import message_summary
from harness.slack_server_blocks import refusal
from harness.slack_server_workspace import BLOCKS_TEXT_MAX
from harness.stories import BASE_TIME, IssueStory, issue_event


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every piece of text in the blocks, one per line, for assertions that read."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for element in block.get("fields", []) + block.get("elements", []):
            if element["type"] == "static_select":
                out.append(element["placeholder"]["text"])
            else:
                text = element["text"]
                out.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(out)


def snapshot(**changes: Any) -> IssueSnapshot:
    return issue_event().issue.model_copy(update=changes)


def test_header_text_severity_colour_and_count_show_the_issue() -> None:
    issue = issue_event(
        severity=Severity.WARNING, header="Disk almost full", text="/var at 91%", alert_count=3
    ).issue
    message = render_issue(issue)
    header, body = message.blocks[0], message.blocks[1]
    assert header == {
        "type": "header",
        "block_id": "alertfold-header",
        "text": {"type": "plain_text", "text": ":warning: Disk almost full", "emoji": True},
    }
    assert body["text"]["text"] == "/var at 91%"
    assert message.colour == SEVERITY_COLOUR[Severity.WARNING]
    assert "3 alerts" in texts(message.blocks)
    assert message.text == ":warning: Disk almost full (open, 3 alerts)"


def test_first_and_last_seen_are_slack_dates_readers_see_in_their_own_zone() -> None:
    story = IssueStory()
    story.opened()
    issue = story.grouped().issue
    rendered = texts(render_issue(issue).blocks)
    assert f"First seen <!date^{int(issue.opened_at.timestamp())}^" in rendered
    assert f"Last seen <!date^{int(issue.updated_at.timestamp())}^" in rendered


def test_status_placeholder_in_the_header_takes_the_emoji_in_place() -> None:
    issue = snapshot(header=":status: API down", severity=Severity.PANIC)
    assert render_issue(issue).blocks[0]["text"]["text"] == ":scream: API down"


def test_fields_link_and_footer_of_the_latest_alert_are_shown() -> None:
    alert = {
        **issue_event().issue.last_alert,
        "fields": [{"title": "host", "value": "db-1"}, {"title": "region", "value": "eu"}],
        "link": "https://grafana.example/d/1",
        "footer": "from prometheus",
    }
    message = render_issue(snapshot(last_alert=alert))
    [fields] = [b for b in message.blocks if "fields" in b]
    assert [f["text"] for f in fields["fields"]] == ["*host*\ndb-1", "*region*\neu"]
    assert "<https://grafana.example/d/1|Open link>" in texts(message.blocks)
    assert "from prometheus" in texts(message.blocks)


def test_more_than_ten_fields_go_to_a_second_section() -> None:
    alert = {
        **issue_event().issue.last_alert,
        "fields": [{"title": f"t{n}", "value": str(n)} for n in range(15)],
    }
    sections = [b for b in render_issue(snapshot(last_alert=alert)).blocks if "fields" in b]
    assert [len(s["fields"]) for s in sections] == [10, 5]


def test_the_status_line_says_open_resolved_how_or_archived() -> None:
    assert status_line(snapshot()) == "*Open*"
    resolved = issue_event(status="resolved").issue
    assert status_line(resolved).startswith("*Resolved* <!date^")
    auto = resolved.model_copy(update={"resolution": "auto"})
    assert status_line(auto).startswith("*Resolved* automatically")
    assert status_line(snapshot(status="archived")) == "*Archived*"


def test_a_resolved_issue_is_green_with_a_check_mark_and_an_inconclusive_one_grey() -> None:
    resolved = issue_event(status="resolved", header="API down").issue
    message = render_issue(resolved)
    assert message.blocks[0]["text"]["text"] == ":white_check_mark: API down"
    assert message.colour == SEVERITY_COLOUR[Severity.RESOLVED]
    inconclusive = render_issue(resolved.model_copy(update={"resolution": "inconclusive"}))
    assert inconclusive.blocks[0]["text"]["text"] == ":grey_question: API down"
    assert inconclusive.colour != message.colour


def test_escalation_mentions_are_in_the_top_level_text_and_a_block_of_their_own() -> None:
    issue = snapshot(mentions=["<!here>", "<@U123>"], escalation_level=1, text="y\n" * 5000)
    message = render_issue(issue)
    assert message.text.endswith(" <!here> <@U123>")
    [mentions] = [b for b in message.blocks if b.get("block_id") == "alertfold-mentions"]
    assert mentions["text"]["text"] == "*Att:* <!here> <@U123>"
    assert message.attachments()[0]["fallback"] == message_summary(issue)
    resolved = render_issue(issue.model_copy(update={"status": "resolved"}))
    assert "<!here>" not in resolved.text
    assert "*Att:*" not in texts(resolved.blocks)


def test_buttons_follow_the_status_and_the_alert_webhooks_display_mode() -> None:
    hooks = [
        {"id": "restart", "buttonText": "Restart", "displayMode": "open_issue"},
        {"id": "postmortem", "buttonText": "Post-mortem", "displayMode": "resolved_issue"},
        {
            "id": "runbook",
            "buttonText": "Runbook",
            "displayMode": "always",
            "buttonStyle": "danger",
        },
    ]
    alert = {**issue_event().issue.last_alert, "webhooks": hooks}

    assert action_ids(snapshot(last_alert=alert)) == [
        *OPEN_ACTIONS,
        "alertfold:webhook:restart",
        "alertfold:webhook:runbook",
    ]
    assert action_ids(snapshot(last_alert=alert, status="resolved")) == [
        *RESOLVED_ACTIONS,
        "alertfold:webhook:postmortem",
        "alertfold:webhook:runbook",
    ]
    assert action_ids(snapshot(last_alert=alert, status="archived")) == []


OPEN_ACTIONS = [
    "alertfold:acknowledge",
    "alertfold:resolve",
    "alertfold:silence",
    "alertfold:move",
    "alertfold:details",
]
RESOLVED_ACTIONS = ["alertfold:unresolve", "alertfold:silence", "alertfold:details"]


def actions(issue: IssueSnapshot) -> list[dict[str, Any]]:
    blocks = [b for b in render_issue(issue).blocks if b["type"] == "actions"]
    return [element for block in blocks for element in block["elements"]]


def action_ids(issue: IssueSnapshot) -> list[str]:
    return [element["action_id"] for element in actions(issue)]


def test_an_open_issue_offers_acknowledge_resolve_silence_move_and_details() -> None:
    issue = snapshot(id="issue-9")
    assert action_ids(issue) == OPEN_ACTIONS
    assert {e["value"] for e in actions(issue) if e["type"] == "button"} == {"issue-9"}
    assert [e["text"]["text"] for e in actions(issue) if e["type"] == "button"] == [
        "Acknowledge",
        "Resolve",
        "Move…",
        "Details…",
    ]


def test_an_acknowledged_issue_offers_unacknowledge_instead() -> None:
    issue = snapshot(acknowledged_by={"kind": "slack_user", "id": "U0BOB", "name": "Bob"})
    assert action_ids(issue) == ["alertfold:unacknowledge", *OPEN_ACTIONS[1:]]


def test_a_resolved_issue_can_be_reopened_silenced_or_inspected_but_not_moved() -> None:
    assert action_ids(issue_event(status="resolved").issue) == RESOLVED_ACTIONS


def test_the_silence_menu_offers_four_durations_naming_the_issue_and_the_seconds() -> None:
    [menu] = [e for e in actions(snapshot(id="issue-9")) if e["action_id"] == "alertfold:silence"]
    assert menu["type"] == "static_select"
    assert menu["placeholder"]["text"] == "Silence…"
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [
        ("30 min", "issue-9|1800"),
        ("1 h", "issue-9|3600"),
        ("4 h", "issue-9|14400"),
        ("24 h", "issue-9|86400"),
    ]


def test_the_silence_menu_offers_the_configured_durations_each_once() -> None:
    durations = [timedelta(minutes=m) for m in (15, 90, 90, 60 * 24 * 3, 60 * 36)]
    message = render_issue(snapshot(id="issue-9"), silence_durations=durations)
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    [menu] = [e for e in actions["elements"] if e["action_id"] == "alertfold:silence"]
    assert [(o["text"]["text"], o["value"]) for o in menu["options"]] == [
        ("15 min", "issue-9|900"),
        ("1 h 30 min", "issue-9|5400"),
        ("3 days", "issue-9|259200"),
        ("36 h", "issue-9|129600"),
    ]
    assert refusal({"attachments": message.attachments()}, BLOCKS_TEXT_MAX) is None


def test_the_most_silence_durations_a_setting_allows_make_a_message_slack_takes() -> None:
    durations = [timedelta(days=90) - timedelta(minutes=m) for m in range(100)]
    message = render_issue(snapshot(id="9" * 36), silence_durations=durations)
    assert refusal({"attachments": message.attachments()}, BLOCKS_TEXT_MAX) is None


def test_a_silenced_issue_says_until_when_shows_no_bell_and_hides_the_silence_menu() -> None:
    until = BASE_TIME + timedelta(hours=4)
    issue = snapshot(silenced_until=until, silence_id="silence-1", severity=Severity.PANIC)
    epoch = int(until.timestamp())
    assert status_line(issue).startswith(f"*Open*, silenced until <!date^{epoch}^")
    assert render_issue(issue).blocks[0]["text"]["text"].startswith(":no_bell: ")
    assert "alertfold:silence" not in action_ids(issue)
    assert action_ids(issue) == [a for a in OPEN_ACTIONS if a != "alertfold:silence"]
    resolved = issue.model_copy(update={"status": "resolved", "resolved_at": until})
    assert ", silenced until <!date^" in status_line(resolved)
    assert render_issue(resolved).blocks[0]["text"]["text"].startswith(":white_check_mark: ")


def test_many_webhook_buttons_are_cut_to_the_25_elements_an_actions_block_takes() -> None:
    hooks = [{"id": f"hook-{n}", "buttonText": f"Hook {n}"} for n in range(30)]
    issue = snapshot(last_alert={**issue_event().issue.last_alert, "webhooks": hooks})
    ids = action_ids(issue)
    assert len(ids) == 25
    assert ids[: len(OPEN_ACTIONS)] == OPEN_ACTIONS


def body_sections(message: RenderedMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section" and "text" in b]


def test_long_text_is_split_over_sections_at_line_breaks_and_shown_whole() -> None:
    text = "\n".join(f"line {n:04} " + "x" * 90 for n in range(100))  # 10,099 characters
    message = render_issue(snapshot(text=text, header="h" * 200))
    parts = body_sections(message)
    assert len(parts) == 4
    assert all(len(part) <= 3000 for part in parts)
    assert "\n".join(parts) == text
    assert len(message.blocks[0]["text"]["text"]) == 150


def test_a_code_block_split_over_two_sections_is_closed_and_opened_again() -> None:
    code = "\n".join(f"{n:05} " + "z" * 60 for n in range(60))
    message = render_issue(snapshot(text=f"Stack trace:\n```\n{code}\n```\nEnd."))
    first, second = body_sections(message)
    assert first.endswith("\n```") and second.startswith("```\n")
    assert first.count("```") == 2 and second.count("```") == 2
    assert second.endswith("```\nEnd.")


def test_text_past_what_a_message_holds_is_cut_at_a_line_and_the_message_says_so() -> None:
    text = "\n".join("<" * 99 for _ in range(100))  # 10,000 characters, 40,000 once escaped
    message = render_issue(snapshot(text=text))
    assert text_length(message.blocks) <= BLOCKS_TEXT_BUDGET
    assert all(len(part) <= 3000 and part.endswith("&lt;") for part in body_sections(message))
    assert "characters not shown" in texts(message.blocks)
    assert len(message.blocks) <= 50


def test_a_line_longer_than_a_section_is_split_between_escaped_characters() -> None:
    parts = body_sections(render_issue(snapshot(text="a&" * 1500)))  # 9,000 once escaped
    assert len(parts) == 4
    assert all(set(part.replace("&amp;", "")) == {"a"} for part in parts)
    assert "".join(parts) == "a&amp;" * 1500


def test_alert_content_cannot_ping_anyone_or_disguise_a_link() -> None:
    hostile = (
        "<!channel> <!here> <!everyone> <!subteam^S1|@ops> <@U0BOSS> & <https://evil|https://ok>"
    )
    alert = {
        **issue_event().issue.last_alert,
        "fields": [{"title": "<!here>", "value": hostile}],
        "footer": hostile,
        "author": "<@U0BOSS>",
        "host": "<!channel>",
    }
    issue = snapshot(header=f"{hostile} down", text=hostile, last_alert=alert)
    message = render_issue(issue)
    shown = json.dumps([message.text, message.attachments()])
    for notifying in ("<!channel>", "<!here>", "<!everyone>", "<!subteam", "<@U0BOSS>", "<https"):
        assert notifying not in shown
    assert message.blocks[0]["text"]["text"].startswith(":x: &lt;!channel&gt; &lt;!here&gt;")
    assert "&amp; &lt;https://evil|https://ok&gt;" in texts(message.blocks)
    assert message.text.startswith(":x: &lt;!channel&gt;")
    with_fallback = {**alert, "fallbackText": "<!channel> API down"}
    assert render_issue(snapshot(last_alert=with_fallback)).text == "&lt;!channel&gt; API down"


def test_mrkdwn_markup_keeps_the_alerts_links_but_not_its_broadcasts_or_mentions() -> None:
    issue = snapshot(text="See <https://runbook/x|the runbook>, <!here> and <@U0BOSS>, <#C0OPS>")
    [body] = body_sections(render_issue(issue, markup="mrkdwn"))
    assert (
        body == "See <https://runbook/x|the runbook>, &lt;!here&gt; and &lt;@U0BOSS&gt;, <#C0OPS>"
    )
    assert render_issue(issue, markup="mrkdwn").blocks[0] == render_issue(issue).blocks[0]


def test_only_a_link_slack_reads_as_one_address_becomes_a_link() -> None:
    alert = {**issue_event().issue.last_alert, "link": "https://evil|https://runbook.internal"}
    assert "Open link" not in texts(render_issue(snapshot(last_alert=alert)).blocks)


def test_fallback_text_author_and_host_are_shown_and_the_bots_name_and_icon_kept() -> None:
    alert = {
        **issue_event().issue.last_alert,
        "fallbackText": "Disk almost full on db-1",
        "author": "prometheus",
        "host": "db-1",
        "username": "Disk watcher",
        "iconEmoji": ":floppy_disk:",
    }
    message = render_issue(snapshot(last_alert=alert))
    assert message.text == "Disk almost full on db-1"
    assert {"*prometheus*", "*db-1*"} <= set(texts(message.blocks).split("\n"))
    assert (message.username, message.icon_emoji) == ("Disk watcher", ":floppy_disk:")


def test_rendering_is_deterministic_so_resending_changes_nothing() -> None:
    issue = issue_event(version=4).issue
    assert render_issue(issue) == render_issue(issue.model_copy())


def test_the_metadata_names_the_issue_and_only_alertfold_metadata_is_read_back() -> None:
    metadata = issue_metadata("issue-7")
    assert metadata == {"event_type": "alertfold_issue", "event_payload": {"issue_id": "issue-7"}}
    assert issue_id_of(metadata) == "issue-7"
    assert issue_id_of({"event_type": "other", "event_payload": {"issue_id": "x"}}) is None
    assert issue_id_of(None) is None


def test_who_acknowledged_silenced_or_resolved_is_shown_as_a_slack_mention() -> None:
    bob = {"kind": "slack_user", "id": "U0BOB", "name": "Bob"}
    acknowledged = snapshot(acknowledged_by=bob, muted_by={"kind": "api", "id": "ops-bot"})
    assert status_line(acknowledged) == "*Open*, acknowledged by <@U0BOB>, silenced by ops-bot"
    actions = [b for b in render_issue(acknowledged).blocks if b["type"] == "actions"]
    assert "alertfold:acknowledge" not in str(actions)
    assert render_issue(acknowledged).blocks[0]["text"]["text"].startswith(":no_bell:")
    resolved = issue_event(status="resolved").issue.model_copy(update={"resolved_by": bob})
    assert status_line(resolved).startswith("*Resolved* by <@U0BOB> <!date^")


def worst_alert(**changes: Any) -> dict[str, Any]:
    """The latest alert at every limit Slack Manager's contract allows, all escaping."""
    return {
        **issue_event().issue.last_alert,
        "fields": [{"title": "<" * 30, "value": "&" * 200} for _ in range(20)],
        "footer": "&" * 300,
        "author": "<" * 100,
        "host": ">" * 100,
        "webhooks": [{"id": f"hook-{n}", "buttonText": "<" * 25} for n in range(5)],
        **changes,
    }


@pytest.mark.parametrize(
    "text",
    [
        "<" * 10_000,
        "\n".join(["<&>" * 33] * 100),
        "```\n" + "\n".join("&" * 99 for _ in range(99)) + "\n```",
        "x" * 10_000,
    ],
)
def test_messages_at_every_limit_are_what_slack_accepts(text: str) -> None:
    mentions = [f"<@U{n:08}>" for n in range(10)]
    issue = snapshot(header="&" * 130, text=text, last_alert=worst_alert(), mentions=mentions)
    message = render_issue(issue)
    arguments = {"text": message.text, "attachments": message.attachments()}
    assert refusal(arguments, BLOCKS_TEXT_MAX) is None
    assert all(mention in message.text for mention in mentions)
