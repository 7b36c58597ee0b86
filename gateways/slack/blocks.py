"""An issue's Slack message as Block Kit: a pure function of the issue's state.

The message is rendered whole from the latest snapshot every time, never patched, so
re-sending it is harmless (the presenter relies on that for at-least-once delivery) and the
last state always wins. Blocks sit in one attachment because only attachments carry a colour
bar; the top-level `text` is what notifications and screen readers show.

Who acknowledged, investigates, silenced or resolved the issue is read with `getattr`, so
snapshots written before those fields existed render the same as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.issue_state import IssueSnapshot
from domain.severity import Severity
from gateways.slack.rendering import message_summary, status_emoji, with_status

METADATA_EVENT_TYPE = "alertfold_issue"

# Block Kit limits (characters / elements).
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELDS_PER_SECTION = 10
FIELD_TEXT_MAX = 2000
ACTIONS_MAX = 25

# The silence menu's choices: label, seconds.
SILENCE_CHOICES: tuple[tuple[str, int], ...] = (
    ("30 min", 1800),
    ("1 h", 3600),
    ("4 h", 14400),
    ("24 h", 86400),
)

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
    text: str
    blocks: list[Block]
    colour: str

    def attachments(self) -> list[dict[str, Any]]:
        return [{"color": self.colour, "fallback": self.text, "blocks": self.blocks}]


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


def render_issue(issue: IssueSnapshot) -> RenderedMessage:
    blocks: list[Block] = [_header(issue)]
    body = _body_text(issue)
    if body:
        blocks.append(_section(body))
    blocks.extend(_fields(issue))
    blocks.append(_context(issue))
    buttons = _buttons(issue)
    if buttons:
        blocks.append({"type": "actions", "block_id": "alertfold-actions", "elements": buttons})
    return RenderedMessage(text=message_summary(issue), blocks=blocks, colour=colour(issue))


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


def _header(issue: IssueSnapshot) -> Block:
    header = with_status(issue.header, issue) or issue.correlation_id
    if ":status:" not in issue.header:
        header = f"{status_emoji(issue)} {header}"
    return {
        "type": "header",
        "block_id": "alertfold-header",
        "text": {"type": "plain_text", "text": _cut(header, HEADER_MAX), "emoji": True},
    }


def _body_text(issue: IssueSnapshot) -> str:
    text = with_status(issue.text, issue)
    if issue.mentions and issue.status == "open":
        text = f"{text}\n*Att:* {' '.join(issue.mentions)}".strip()
    return text


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_TEXT_MAX)}}


def _fields(issue: IssueSnapshot) -> list[Block]:
    fields = [
        {
            "type": "mrkdwn",
            "text": _cut(f"*{f.get('title', '')}*\n{f.get('value', '')}", FIELD_TEXT_MAX),
        }
        for f in issue.last_alert.get("fields") or []
        if isinstance(f, dict)
    ]
    return [
        {"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]}
        for start in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _context(issue: IssueSnapshot) -> Block:
    count = "1 alert" if issue.alert_count == 1 else f"{issue.alert_count} alerts"
    elements = [
        status_line(issue),
        f"{status_emoji(issue)} {issue.severity.value}",
        count,
        f"First seen {_date(issue.opened_at)}",
        f"Last seen {_date(issue.updated_at)}",
    ]
    link = issue.last_alert.get("link")
    if isinstance(link, str) and link:
        elements.append(f"<{link}|Open link>")
    footer = issue.last_alert.get("footer")
    if isinstance(footer, str) and footer:
        elements.append(footer)
    return {
        "type": "context",
        "block_id": "alertfold-context",
        "elements": [{"type": "mrkdwn", "text": text} for text in elements],
    }


def _buttons(issue: IssueSnapshot) -> list[Block]:
    """The issue's own actions, then the alert's webhook buttons that apply to its status."""
    if issue.status == "archived":
        return []
    elements = _issue_actions(issue)
    wanted = {"always", "open_issue" if issue.status == "open" else "resolved_issue"}
    for hook in issue.last_alert.get("webhooks") or []:
        if not isinstance(hook, dict) or (hook.get("displayMode") or "open_issue") not in wanted:
            continue
        style = hook.get("buttonStyle")
        button = _button(
            str(hook.get("buttonText") or hook.get("id")),
            f"alertfold:webhook:{hook.get('id')}",
            issue.id,
            style if style in ("primary", "danger") else None,
        )
        if not hook.get("skipConfirmationDialog"):
            button["confirm"] = _webhook_confirmation(hook)
        elements.append(button)
    return elements[:ACTIONS_MAX]


def _issue_actions(issue: IssueSnapshot) -> list[Block]:
    """Slack Manager's set: what the status allows, a silence while none runs, move, details.

    A resolved issue cannot be moved (as in Slack Manager). While a silence runs there is no
    silence menu: the silence ends on its own, or is lifted where it was made.
    """
    elements: list[Block] = []
    if issue.status == "open":
        if _actor(issue, "acknowledged_by"):
            elements.append(_button("Unacknowledge", "alertfold:unacknowledge", issue.id))
        else:
            elements.append(_button("Acknowledge", "alertfold:acknowledge", issue.id))
        elements.append(_button("Resolve", "alertfold:resolve", issue.id, "primary"))
    else:
        elements.append(_button("Reopen", "alertfold:unresolve", issue.id))
    if getattr(issue, "silenced_until", None) is None:
        elements.append(_silence_menu(issue.id))
    if issue.status == "open":
        elements.append(_button("Move…", "alertfold:move", issue.id))
    elements.append(_button("Details…", "alertfold:details", issue.id))
    return elements


def _silence_menu(issue_id: str) -> Block:
    """Option values carry the issue and the seconds, so a click needs no lookup."""
    return {
        "type": "static_select",
        "action_id": "alertfold:silence",
        "placeholder": {"type": "plain_text", "text": "Silence…", "emoji": True},
        "options": [
            {
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": f"{issue_id}|{seconds}",
            }
            for label, seconds in SILENCE_CHOICES
        ],
    }


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


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


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
    return str(actor.get("name") or actor["id"])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
