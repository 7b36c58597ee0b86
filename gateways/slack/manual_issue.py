"""Opening an issue by hand: the global shortcut's modal, submitted as an ordinary alert.

The submission becomes a Slack Manager alert on the `alerts` topic (correlation id
`manual-<uuid4>`, author the Slack user), so it is folded, presented and audited like any
other alert; nothing downstream knows it was typed by a person. Who may: the chosen
channel's admins. The bot must be in the channel, or its message could not be posted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from domain.alert_limits import MAX_AUTO_RESOLVE_SECONDS, MIN_AUTO_RESOLVE_SECONDS
from domain.errors import DomainError
from domain.intake import admit_alerts
from domain.interactions import Actor
from domain.routing import RouteTable
from gateways.slack.actions import OPEN_ISSUE_CALLBACK
from gateways.slack.surface_context import Surfaces
from gateways.slack.surface_requests import OpenModal, ViewSubmitted
from wire.alerts import encode_alert

log = logging.getLogger("alertfold.slack.manual")

CHANNEL_BLOCK = "channel"
HEADER_BLOCK = "header"
BODY_BLOCK = "body"
SEVERITY_BLOCK = "severity"
AUTO_RESOLVE_BLOCK = "auto_resolve"
SEVERITIES = ("panic", "error", "warning", "info")


def manual_issue_view() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": OPEN_ISSUE_CALLBACK,
        "title": {"type": "plain_text", "text": "Open an issue"},
        "submit": {"type": "plain_text", "text": "Open"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(CHANNEL_BLOCK, "Channel", {"type": "conversations_select"}),
            _input(HEADER_BLOCK, "Header", {"type": "plain_text_input", "max_length": 150}),
            _input(
                BODY_BLOCK,
                "Body",
                {"type": "plain_text_input", "multiline": True, "max_length": 3000},
                optional=True,
            ),
            _input(
                SEVERITY_BLOCK,
                "Severity",
                {
                    "type": "static_select",
                    "initial_option": _option("error"),
                    "options": [_option(s) for s in SEVERITIES],
                },
            ),
            _input(
                AUTO_RESOLVE_BLOCK,
                "Resolve by itself after (minutes)",
                {
                    "type": "plain_text_input",
                    "placeholder": _plain("leave empty to resolve by hand"),
                },
                optional=True,
            ),
        ],
    }


def manual_alert(
    values: Mapping[str, str | None], user: Actor, now: datetime, view_id: str = ""
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The alert JSON the modal's inputs make, or the problems by block id (Slack shows them).

    The correlation id comes from the modal's view id, so submitting the same modal again
    (after "submit again" when Kafka was slow) joins the issue it may have opened already.
    """
    errors: dict[str, str] = {}
    channel = (values.get(CHANNEL_BLOCK) or "").strip()
    header = (values.get(HEADER_BLOCK) or "").strip()
    severity = values.get(SEVERITY_BLOCK) or "error"
    if not channel:
        errors[CHANNEL_BLOCK] = "Choose a channel."
    if not header:
        errors[HEADER_BLOCK] = "Give the issue a header."
    if severity not in SEVERITIES:
        errors[SEVERITY_BLOCK] = f"Choose one of {', '.join(SEVERITIES)}."
    alert: dict[str, Any] = {
        "slackChannelId": channel,
        "correlationId": f"manual-{_manual_id(view_id)}",
        "header": header,
        "text": (values.get(BODY_BLOCK) or "").strip(),
        "severity": severity,
        "author": user.name or user.id,
        "timestamp": now.isoformat(),
    }
    minutes = (values.get(AUTO_RESOLVE_BLOCK) or "").strip()
    if minutes:
        seconds = int(minutes) * 60 if minutes.isdigit() else -1
        if not MIN_AUTO_RESOLVE_SECONDS <= seconds <= MAX_AUTO_RESOLVE_SECONDS:
            errors[AUTO_RESOLVE_BLOCK] = "A whole number of minutes, 1 or more."
        alert.update(issueFollowUpEnabled=True, autoResolveSeconds=seconds)
    return (None, errors) if errors else (alert, {})


async def open_manual_issue(surfaces: Surfaces, request: OpenModal) -> None:
    await surfaces.open_view(request.trigger_id, manual_issue_view())


async def submit_manual_issue(
    surfaces: Surfaces, submitted: ViewSubmitted
) -> dict[str, Any] | None:
    alert_json, errors = manual_alert(
        submitted.values, submitted.user, surfaces.clock(), submitted.view_id
    )
    if alert_json is None:
        return _errors(errors)
    channel = str(alert_json["slackChannelId"])
    if not await surfaces.admins.is_admin(submitted.user.id, channel):
        return _errors(
            {CHANNEL_BLOCK: "Only alertfold admins of that channel may open issues in it."}
        )
    member = await surfaces.bot_is_member(channel)
    if not member:
        problem = (
            "alertfold cannot see that channel."
            if member is None
            else (f"Invite alertfold to <#{channel}> first; it can only post where it is a member.")
        )
        return _errors({CHANNEL_BLOCK: problem})
    now = surfaces.clock()
    try:
        admission = admit_alerts(alert_json, routes=RouteTable([]), now=now)
    except DomainError as rejected:
        return _errors({HEADER_BLOCK: str(rejected)[:150]})
    await surfaces.alerts.publish([(channel, encode_alert(a, now)) for a in admission.accepted])
    log.info(
        "issue %s opened by hand in %s by %s",
        alert_json["correlationId"],
        channel,
        submitted.user.id,
    )
    return None


def _manual_id(view_id: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"slack-view:{view_id}") if view_id else uuid.uuid4()


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    return {"response_action": "errors", "errors": errors}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": {**element, "action_id": block_id},
    }


def _option(value: str) -> dict[str, Any]:
    return {"text": _plain(value.capitalize()), "value": value}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}
