"""The Details… modal: one issue as the lookup view knows it, read-only, with a link to its page.

Anyone who can see the message may read it (Slack Manager's "view issue details" is open to
all). Built from the view's issue JSON only, so fields the fold adds later show up once the
view serves them; Slack's limits (10 fields a section, 2000 characters a field, 3000 a text)
are kept by truncating, never by failing. What the alert says is shown as the message shows
it (`mrkdwn`): escaped, or as the installation's `markup` reads it, so nothing in it pings
anyone or disguises a link here either.
"""

from __future__ import annotations

from typing import Any

from gateways.slack.actions import DETAILS_CALLBACK
from gateways.slack.long_text import cut_point
from gateways.slack.mrkdwn import AlertMarkup, alert_mrkdwn, escaped
from gateways.slack.ports import Issue
from gateways.slack.surface_context import Surfaces
from gateways.slack.surface_requests import OpenModal

TEXT_MAX = 3000
FIELDS_PER_SECTION = 10
ALERT_FIELDS_MAX = 20


def details_view(issue: Issue, page_url: str, markup: AlertMarkup = "escaped") -> dict[str, Any]:
    """The modal; `page_url` empty: no link (alertfold has no address people can open)."""
    alert = issue.get("last_alert") or {}
    header = escaped(str(issue.get("header") or issue["id"]))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(header, 150)},
        _fields(_facts(issue)),
    ]
    people = _people(issue)
    if people:
        blocks.append(_fields(people))
    text = alert_mrkdwn(str(alert.get("text") or issue.get("text") or ""), markup)
    if text:
        blocks.append({"type": "section", "text": _mrkdwn(f"*Latest alert*\n{text}")})
    alert_fields = [
        (
            alert_mrkdwn(str(f.get("title") or ""), markup),
            alert_mrkdwn(str(f.get("value") or ""), markup),
        )
        for f in (alert.get("fields") or [])[:ALERT_FIELDS_MAX]
        if isinstance(f, dict)
    ]
    for start in range(0, len(alert_fields), FIELDS_PER_SECTION):
        blocks.append(_fields(alert_fields[start : start + FIELDS_PER_SECTION]))
    if page_url:
        link = f"<{page_url}|This issue and its history in alertfold>"
        blocks.append({"type": "context", "elements": [_mrkdwn(link)]})
    return {
        "type": "modal",
        "callback_id": DETAILS_CALLBACK,
        "title": {"type": "plain_text", "text": "Issue details"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


def _facts(issue: Issue) -> list[tuple[str, str]]:
    """The issue's facts; those an alert sets (channel, correlation id, time) as written."""
    last_seen = (issue.get("last_alert") or {}).get("timestamp") or issue.get("updated_at")
    return [
        ("Issue", f"`{issue['id']}`"),
        ("Channel", f"<#{escaped(str(issue.get('channel_id')))}>"),
        ("Correlation id", f"`{escaped(str(issue.get('correlation_id') or '-'))}`"),
        ("Status", _status(issue)),
        ("Severity", str(issue.get("severity") or "-")),
        ("Alerts", str(issue.get("alert_count") or 0)),
        ("First seen", str(issue.get("opened_at") or "-")),
        ("Last seen", escaped(str(last_seen or "-"))),
    ]


def _status(issue: Issue) -> str:
    status = str(issue.get("status") or "-")
    resolution = issue.get("resolution")
    return f"{status} ({resolution})" if resolution else status


def _people(issue: Issue) -> list[tuple[str, str]]:
    found = [
        (label, _who(issue.get(name)))
        for label, name in (
            ("Acknowledged by", "acknowledged_by"),
            ("Resolved by", "resolved_by"),
            ("Investigated by", "investigated_by"),
            ("Muted by", "muted_by"),
        )
    ]
    people = [(label, who) for label, who in found if who]
    silenced = issue.get("silenced_until")
    if silenced:
        people.append(("Silenced until", str(silenced)))
    return people


def _who(actor: Any) -> str:
    if not isinstance(actor, dict) or not actor.get("id"):
        return ""
    if actor.get("kind") == "slack_user":
        return f"<@{actor['id']}>"
    return escaped(str(actor.get("name") or actor["id"]))


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [_mrkdwn(f"*{title}*\n{value}", 2000) for title, value in pairs],
    }


def _mrkdwn(text: str, limit: int = TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text, limit)}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit)}


def _cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, never ending inside an escaped `&amp;`."""
    return text if len(text) <= limit else text[: cut_point(text, limit - 1)] + "…"


async def open_details(surfaces: Surfaces, request: OpenModal) -> None:
    issue = await surfaces.issue(request.issue_id, request.channel_id, request.message_ts)
    if issue is None:
        await surfaces.tell(
            request.channel_id,
            request.user.id,
            "That message is not an alertfold issue, or the issue is gone.",
        )
        return
    view = details_view(issue, surfaces.issue_page_url(issue["id"]), surfaces.markup)
    await surfaces.open_view(request.trigger_id, view)
