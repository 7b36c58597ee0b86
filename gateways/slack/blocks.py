"""An issue's Slack message as Block Kit: a pure function of the issue's state.

The message is rendered whole from the latest snapshot every time, never patched, so
re-sending it is harmless (the presenter relies on that for at-least-once delivery) and the
last state always wins. Blocks sit in one attachment because only attachments carry a colour
bar; the top-level `text` is what notifications and screen readers show, so escalation
mentions go there (and in a block of their own): Slack notifies reliably only for mentions in
a message's top-level text, and a mention is never cut with a long alert text.

Everything an alert says is shown as written (`mrkdwn`): it cannot ping anyone or disguise a
link. Long text is split over sections (`long_text`) and the message is kept within what Slack
takes (`BLOCKS_TEXT_BUDGET`); what had to be cut is said in the message. The alert's
`fallbackText`, `username`, `iconEmoji`, `author` and `host` are shown as Slack Manager shows
them (the top-level text, the bot's name and icon for this message, context lines).

Which controls the message carries follows from the issue's status here; each control's
action id, label and what it does come from the catalogue in `actions`, which the gateway
reads clicks by.

Who acknowledged, investigates, silenced or resolved the issue is read with `getattr`, so
snapshots written before those fields existed render the same as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.alert_text import is_slack_link
from domain.issue_state import IssueSnapshot
from domain.severity import Severity
from domain.silences import DEFAULT_SILENCE_DURATIONS
from gateways.slack.actions import (
    ACKNOWLEDGE,
    DETAILS,
    MOVE,
    RESOLVE,
    UNACKNOWLEDGE,
    UNRESOLVE,
    button,
    silence_menu,
    webhook_action,
)
from gateways.slack.long_text import cut, cut_point, sections
from gateways.slack.mrkdwn import AlertMarkup, alert_mrkdwn, escaped
from gateways.slack.rendering import message_summary, status_emoji, with_status

METADATA_EVENT_TYPE = "alertfold_issue"

# Block Kit limits (characters / elements), docs.slack.dev Block Kit reference.
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELDS_PER_SECTION = 10
FIELD_TEXT_MAX = 2000
ACTIONS_MAX = 25
# How much text all blocks of a message may hold together: Slack refuses more with
# `msg_blocks_too_long` without documenting the figure; its maintainers speak of about 12,000
# characters (slackapi/bolt-js issues 2509, 2867). Kept below that, with room to spare.
BLOCKS_TEXT_BUDGET = 11_000
# Room kept for the note saying the text was cut, and for the code fences a split adds.
_CUT_NOTE_ROOM = 150
_FENCES_PER_SECTION = 8

SEVERITY_COLOUR: dict[Severity, str] = {
    Severity.PANIC: "#7d0a0a",
    Severity.ERROR: "#e01e5a",
    Severity.WARNING: "#ecb22e",
    Severity.INFO: "#1d9bd1",
    Severity.RESOLVED: "#2eb67d",
}
CLOSED_COLOUR = "#9e9e9e"

Block = dict[str, Any]


@dataclass(frozen=True)
class RenderedMessage:
    text: str  # the top-level text: notifications, mentions
    blocks: list[Block]
    colour: str
    metadata: dict[str, Any]
    fallback: str = ""  # the attachment's plain summary; the text when empty
    username: str = ""  # the bot's name and icon for this message, on posting
    icon_emoji: str = ""

    def attachments(self) -> list[dict[str, Any]]:
        return [
            {"color": self.colour, "fallback": self.fallback or self.text, "blocks": self.blocks}
        ]


def issue_metadata(issue_id: str) -> dict[str, Any]:
    """Slack message metadata naming the issue: how a restarted presenter finds its message."""
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"issue_id": issue_id}}


def issue_id_of(metadata: Any) -> str | None:
    """The issue id in a message's metadata, if alertfold wrote it."""
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    issue_id = payload.get("issue_id") if isinstance(payload, dict) else None
    return issue_id if isinstance(issue_id, str) and issue_id else None


def render_issue(
    issue: IssueSnapshot,
    markup: AlertMarkup = "escaped",
    silence_durations: Sequence[timedelta] = DEFAULT_SILENCE_DURATIONS,
) -> RenderedMessage:
    """The issue's message; `markup` says how the alert's own text is read (`mrkdwn`), and
    `silence_durations` what its Silence… menu offers."""
    alert = issue.last_alert
    top = [header_block(issue), *_mentions(issue)]
    bottom = [_context(issue, markup)]
    buttons = _buttons(issue, silence_durations)
    if buttons:
        bottom.append({"type": "actions", "block_id": "alertfold-actions", "elements": buttons})
    fields = _fields(issue, markup)
    used = text_length(top + fields + bottom)
    if used > BLOCKS_TEXT_BUDGET - _CUT_NOTE_ROOM:
        fields = [_note("The alert's fields do not fit in a Slack message and are not shown.")]
        used = text_length(top + fields + bottom)
    room = BLOCKS_TEXT_BUDGET - used
    summary = _summary(issue)
    mentions = " ".join(issue.mentions) if _mentioning(issue) else ""
    return RenderedMessage(
        text=f"{summary} {mentions}".strip(),
        blocks=[*top, *_body(issue, markup, room), *fields, *bottom],
        colour=colour(issue),
        metadata=issue_metadata(issue.id),
        fallback=summary,
        username=_alert_string(alert, "username"),
        icon_emoji=_alert_string(alert, "iconEmoji"),
    )


def text_length(blocks: list[Block]) -> int:
    """All text of the blocks' text objects together: what Slack's message budget counts."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") in ("plain_text", "mrkdwn") and isinstance(item.get("text"), str):
                total += len(item["text"])
            stack.extend(item.values())
    return total


def colour(issue: IssueSnapshot) -> str:
    if issue.status == "archived":
        return CLOSED_COLOUR
    if issue.status == "resolved":
        return (
            CLOSED_COLOUR
            if issue.resolution == "inconclusive"
            else SEVERITY_COLOUR[Severity.RESOLVED]
        )
    return SEVERITY_COLOUR[issue.severity]


def status_line(issue: IssueSnapshot) -> str:
    """Open / acknowledged by whom / resolved (how, by whom) / silenced / archived."""
    if issue.status == "archived":
        return "*Archived*"
    if issue.status == "resolved":
        how = {"auto": " automatically", "inconclusive": " as inconclusive"}.get(
            issue.resolution or "", ""
        )
        who = _actor(issue, "resolved_by")
        by = f" by {who}" if who else ""
        when = f" {_date(issue.resolved_at)}" if issue.resolved_at else ""
        return f"*Resolved*{how}{by}{when}{_silence(issue)}"
    parts = ["*Open*"]
    for label, name in (
        ("acknowledged by", "acknowledged_by"),
        ("investigated by", "investigated_by"),
        ("silenced by", "muted_by"),
    ):
        who = _actor(issue, name)
        if who:
            parts.append(f"{label} {who}")
    return ", ".join(parts) + _silence(issue)


def reminder_text(issue: IssueSnapshot) -> str:
    """A reminder, replied in the message's thread: the issue still waits for someone."""
    return (
        ":alarm_clock: Reminder: still open and nobody has acknowledged it "
        f"(open since {_date(issue.opened_at)})."
    )


def header_block(issue: IssueSnapshot) -> Block:
    """The issue's header: its status emoji and the alert's header, as written."""
    header = with_status(issue.header, issue) or issue.correlation_id
    if ":status:" not in issue.header:
        header = f"{status_emoji(issue)} {header}"
    return {
        "type": "header",
        "block_id": "alertfold-header",
        "text": {"type": "plain_text", "text": _cut(escaped(header), HEADER_MAX), "emoji": True},
    }


def _summary(issue: IssueSnapshot) -> str:
    """The alert's `fallbackText` if it has one (Slack Manager's top-level text), else one
    line saying what the message shows."""
    fallback = _alert_string(issue.last_alert, "fallbackText")
    return escaped(fallback) if fallback else message_summary(issue)


def _mentioning(issue: IssueSnapshot) -> bool:
    return bool(issue.mentions) and issue.status == "open"


def _mentions(issue: IssueSnapshot) -> list[Block]:
    """The escalation's mentions (validated at ingest: `<!here>`, `<!channel>`, `<@ID>`)."""
    if not _mentioning(issue):
        return []
    text = f"*Att:* {' '.join(issue.mentions)}"
    return [{"type": "section", "block_id": "alertfold-mentions", "text": _mrkdwn(text)}]


def _body(issue: IssueSnapshot, markup: AlertMarkup, room: int) -> list[Block]:
    """The alert text in sections, cut to `room` characters with a note saying so."""
    text = alert_mrkdwn(with_status(issue.text, issue), markup).strip()
    if not text:
        return []
    room -= _FENCES_PER_SECTION * (room // SECTION_TEXT_MAX + 1)
    kept, left_out = (text, 0) if len(text) <= room else cut(text, room - _CUT_NOTE_ROOM)
    blocks = [
        {"type": "section", "text": _mrkdwn(part)} for part in sections(kept, SECTION_TEXT_MAX)
    ]
    if left_out:
        blocks.append(
            _note(f"The text was cut to fit in a Slack message: {left_out:,} characters not shown.")
        )
    return blocks


def _fields(issue: IssueSnapshot, markup: AlertMarkup) -> list[Block]:
    fields = [
        _mrkdwn(
            _cut(
                f"*{alert_mrkdwn(str(f.get('title', '')), markup)}*\n"
                f"{alert_mrkdwn(str(f.get('value', '')), markup)}",
                FIELD_TEXT_MAX,
            )
        )
        for f in issue.last_alert.get("fields") or []
        if isinstance(f, dict)
    ]
    return [
        {"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]}
        for start in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _context(issue: IssueSnapshot, markup: AlertMarkup) -> Block:
    count = "1 alert" if issue.alert_count == 1 else f"{issue.alert_count} alerts"
    alert = issue.last_alert
    elements = [
        status_line(issue),
        f"{status_emoji(issue)} {issue.severity.value}",
        count,
        f"First seen {_date(issue.opened_at)}",
        f"Last seen {_date(issue.updated_at)}",
    ]
    for name in ("author", "host"):
        value = _alert_string(alert, name)
        if value:
            elements.append(f"*{escaped(value)}*")
    link = _alert_string(alert, "link")
    if is_slack_link(link):  # checked at ingest; older alerts are checked here
        elements.append(f"<{link}|Open link>")
    footer = _alert_string(alert, "footer")
    if footer:
        elements.append(alert_mrkdwn(footer, markup))
    return {
        "type": "context",
        "block_id": "alertfold-context",
        "elements": [_mrkdwn(text) for text in elements],
    }


def _note(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(f":scissors: {text}")]}


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _alert_string(alert: dict[str, Any], name: str) -> str:
    value = alert.get(name)
    return value if isinstance(value, str) else ""


def _buttons(issue: IssueSnapshot, silence_durations: Sequence[timedelta]) -> list[Block]:
    """The issue's own actions, then the alert's webhook buttons that apply to its status."""
    if issue.status == "archived":
        return []
    elements = _issue_actions(issue, silence_durations)
    wanted = {"always", "open_issue" if issue.status == "open" else "resolved_issue"}
    for hook in issue.last_alert.get("webhooks") or []:
        if not isinstance(hook, dict) or (hook.get("displayMode") or "open_issue") not in wanted:
            continue
        style = hook.get("buttonStyle")
        action = webhook_action(str(hook.get("id")), str(hook.get("buttonText") or hook.get("id")))
        element = button(action, issue.id, style if style in ("primary", "danger") else None)
        if not hook.get("skipConfirmationDialog"):
            element["confirm"] = _webhook_confirmation(hook)
        elements.append(element)
    return elements[:ACTIONS_MAX]


def _issue_actions(issue: IssueSnapshot, silence_durations: Sequence[timedelta]) -> list[Block]:
    """Slack Manager's set: what the status allows, a silence while none runs, move, details.

    A resolved issue cannot be moved (as in Slack Manager). While a silence runs there is no
    silence menu: the silence ends on its own, or is lifted where it was made.
    """
    elements: list[Block] = []
    if issue.status == "open":
        acknowledged = _actor(issue, "acknowledged_by")
        elements.append(button(UNACKNOWLEDGE if acknowledged else ACKNOWLEDGE, issue.id))
        elements.append(button(RESOLVE, issue.id, "primary"))
    else:
        elements.append(button(UNRESOLVE, issue.id))
    if getattr(issue, "silenced_until", None) is None:
        elements.append(silence_menu(issue.id, silence_durations))
    if issue.status == "open":
        elements.append(button(MOVE, issue.id))
    elements.append(button(DETAILS, issue.id))
    return elements


def _silence(issue: IssueSnapshot) -> str:
    until = getattr(issue, "silenced_until", None)
    return f", silenced until {_date(until)}" if isinstance(until, datetime) else ""


def _webhook_confirmation(hook: dict[str, Any]) -> Block:
    """Slack's own "are you sure?" dialog before a webhook call (its text inputs are not
    offered yet: their initial values are sent)."""
    name = str(hook.get("buttonText") or "the webhook")
    text = str(hook.get("confirmationText") or f"Call {name}?")
    return {
        "title": {"type": "plain_text", "text": _cut(name, 100)},
        "text": {"type": "plain_text", "text": _cut(text, 300)},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }


def _date(moment: datetime) -> str:
    """Slack shows each reader the time in their own zone; the fallback is UTC."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time_secs}}|{moment.isoformat()}>"


def _actor(issue: IssueSnapshot, name: str) -> str:
    """Who did it (a snapshot's `{kind, id, name}`), as Slack shows a person: a mention."""
    actor = getattr(issue, name, None)
    if not isinstance(actor, dict) or not actor.get("id"):
        return ""
    if actor.get("kind") == "slack_user":
        return f"<@{actor['id']}>"
    return escaped(str(actor.get("name") or actor["id"]))


def _cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, never ending inside an escaped `&amp;`."""
    return text if len(text) <= limit else text[: cut_point(text, limit - 3)] + "..."
