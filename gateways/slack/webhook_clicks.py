"""Webhook buttons (`alertfold:webhook:<id>`, value = issue id): open, call, record, tell.

Slack wants the envelope acknowledged within 3 s, and a webhook may take 3 s per attempt, so
the click is acknowledged at once and handled in the background: find the issue, check the
click came from the issue's current message and the webhook's access level in the issue's
own channel, open its sealed URL and payload, POST Slack Manager's body, then put
a `webhook_called` interaction (the result, never the URL) on the issue's partition and tell
the user the outcome in one ephemeral message. The call is the side effect and the
interaction its record; with Kafka down the call still happened and only its record is lost.

Slack's own `confirm` dialog on the button (rendered in `blocks`) asks "are you sure?";
Slack Manager's modal with text and checkbox inputs is not offered, so their initial values
are what the webhook receives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from domain.alert_webhooks import WebhookAccessLevel, is_sealed
from domain.interactions import Actor, Interaction, InteractionKind, WebhookResult
from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.actions import WEBHOOK_PREFIX
from gateways.slack.current_message import NOT_ITS_MESSAGE, Clicked, IssueMessages
from gateways.slack.ports import IssueFinder, Publisher
from gateways.slack.webhook_calls import call_webhook
from infra.webhook_sealing import SealBroken, WebhookSealer
from wire.interactions import encode_interaction

log = logging.getLogger("alertfold.slack.webhooks")

# Slack Manager's debounce: a second press of the same button within this is dropped.
DEBOUNCE = timedelta(seconds=2)
Hook = dict[str, Any]


@dataclass(frozen=True)
class WebhookClick:
    webhook_id: str
    issue_id: str
    channel_id: str
    user_id: str
    user_name: str
    message_ts: str
    action_ts: str
    at: datetime

    @property
    def interaction_id(self) -> str:
        # A redelivered envelope carries the same action ts: it folds once.
        return f"webhook/{self.user_id}/{self.action_ts}"


def read_click(request_type: str, payload: dict[str, Any], now: datetime) -> WebhookClick | None:
    """The webhook button press in a Socket Mode request, or None when it is something else."""
    if request_type != "interactive" or payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    action_id = str(action.get("action_id", ""))
    if not action_id.startswith(WEBHOOK_PREFIX):
        return None
    user = payload.get("user") or {}
    container = payload.get("container") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id", "")
    action_ts = str(action.get("action_ts") or "")
    try:
        at = datetime.fromtimestamp(float(action_ts), UTC)
    except ValueError:
        at = now
    return WebhookClick(
        webhook_id=action_id.removeprefix(WEBHOOK_PREFIX),
        issue_id=str(action.get("value", "")),
        channel_id=str(channel),
        user_id=str(user.get("id") or "unknown"),
        user_name=str(user.get("name") or user.get("username") or ""),
        message_ts=str(container.get("message_ts") or ""),
        action_ts=action_ts or now.isoformat(),
        at=at,
    )


class AdminCheck(Protocol):
    """Who is an admin (the permissions file and Slack user groups)."""

    async def is_admin(self, user_id: str, channel_id: str) -> bool: ...

    async def is_global_admin(self, user_id: str) -> bool: ...


async def may_press(admins: AdminCheck, hook: Hook, user: str, channel: str) -> bool:
    """The webhook's `accessLevel` (empty: global admins only, as in Slack Manager)."""
    level = hook.get("accessLevel") or WebhookAccessLevel.GLOBAL_ADMINS
    if level == WebhookAccessLevel.CHANNEL_MEMBERS:
        return True
    if level == WebhookAccessLevel.CHANNEL_ADMINS:
        return await admins.is_admin(user, channel)
    return await admins.is_global_admin(user)


def request_body(click: WebhookClick, hook: Hook, payload: dict[str, Any]) -> dict[str, Any]:
    """Slack Manager's webhook body; the inputs carry their initial values (no modal yet)."""
    return {
        "id": click.webhook_id,
        "userId": click.user_id,
        "userRealName": click.user_name,
        "channelId": click.channel_id,
        "messageId": click.message_ts,
        "timestamp": click.at.isoformat(),
        "plainTextInput": {
            str(i.get("id")): str(i.get("initialValue") or "")
            for i in hook.get("plainTextInput") or []
            if isinstance(i, dict)
        },
        "checkboxInput": {
            str(i.get("id")): [
                str(o.get("value"))
                for o in i.get("options") or []
                if isinstance(o, dict) and o.get("selected")
            ]
            for i in hook.get("checkboxInput") or []
            if isinstance(i, dict)
        },
        "payload": payload,
    }


class WebhookClicks:
    """Handles webhook button presses in the background; `start` returns at once."""

    def __init__(
        self,
        *,
        finder: IssueFinder,
        publisher: Publisher,
        admins: AdminCheck,
        sealer: WebhookSealer | None,
        tell: Callable[[str, str, str], Awaitable[None]],
        clock: Callable[[], datetime],
        http: httpx.AsyncClient | None = None,
        messages: IssueMessages | None = None,
    ) -> None:
        self._finder = finder
        self._messages = messages or IssueMessages(finder)
        self._publisher = publisher
        self._admins = admins
        self._sealer = sealer
        self._tell = tell
        self._clock = clock
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._last_press: dict[tuple[str, str, str], datetime] = {}
        self._running: set[asyncio.Task[None]] = set()

    def start(self, request_type: str, payload: dict[str, Any]) -> bool:
        """Take the request if it is a webhook press (True), so it can be acknowledged now."""
        click = read_click(request_type, payload, self._clock())
        if click is None:
            return False
        if self._debounced(click):
            log.info("webhook %s pressed again by %s: dropped", click.webhook_id, click.user_id)
            return True
        task = asyncio.create_task(self._handle(click))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return True

    def _debounced(self, click: WebhookClick) -> bool:
        key = (click.user_id, click.issue_id, click.webhook_id)
        now = self._clock()
        last = self._last_press.get(key)
        self._last_press = {k: t for k, t in self._last_press.items() if now - t < DEBOUNCE}
        self._last_press[key] = now
        return last is not None and now - last < DEBOUNCE

    async def _handle(self, click: WebhookClick) -> None:
        try:
            await self._press(click)
        except Exception:  # one press must never take the gateway down
            log.exception("webhook %s on issue %s failed", click.webhook_id, click.issue_id)

    async def _press(self, click: WebhookClick) -> None:
        issue = await asyncio.to_thread(self._finder.get_issue, click.issue_id)
        if issue is None or issue.get("status") == "archived":
            await self._say(click, "That issue is no longer open here.")
            return
        where = Clicked(click.channel_id, click.message_ts or None)
        if not await self._messages.shows(issue, where):
            await self._say(click, NOT_ITS_MESSAGE)
            return
        hook = _hook(issue, click.webhook_id)
        if hook is None:
            await self._say(click, "This button's webhook is no longer on the issue.")
            return
        if not await may_press(self._admins, hook, click.user_id, issue["channel_id"]):
            await self._say(click, f"You may not use {_name(hook)} here; ask an alertfold admin.")
            return
        result = await self._call(click, hook)
        await self._record(click, issue, result)
        await self._say(click, _outcome(hook, result))

    async def _call(self, click: WebhookClick, hook: Hook) -> WebhookResult:
        def failed(error: str) -> WebhookResult:
            return WebhookResult(webhook_id=click.webhook_id, ok=False, error=error)

        sealed = is_sealed(hook.get("url")) or is_sealed(hook.get("payload"))
        if self._sealer is None and sealed:
            return failed("no ALERTFOLD_WEBHOOK_ENCRYPTION_KEY to open the webhook")
        try:
            url = self._sealer.open_url(hook.get("url")) if self._sealer else str(hook["url"])
            payload = (
                self._sealer.open_payload(hook.get("payload"))
                if self._sealer
                else dict(hook.get("payload") or {})
            )
        except SealBroken as error:
            return failed(f"the sealed webhook does not open: {error}")
        if not url.lower().startswith(("http://", "https://")):
            return failed("handler names are not supported; the url must be http(s)")
        body = request_body(click, hook, payload)
        return await call_webhook(self._http, click.webhook_id, url, body)

    async def _record(
        self, click: WebhookClick, issue: dict[str, Any], result: WebhookResult
    ) -> None:
        interaction = Interaction(
            interaction_id=click.interaction_id,
            kind=InteractionKind.WEBHOOK_CALLED,
            channel_id=issue["channel_id"],
            correlation_id=issue["correlation_id"],
            issue_id=issue["id"],
            at=click.at,
            actor=Actor(kind="slack_user", id=click.user_id, name=click.user_name[:200]),
            webhook=result,
        )
        try:
            await self._publisher.publish(
                [(interaction.channel_id, encode_interaction(interaction))]
            )
        except BrokerUnavailable as error:
            log.warning("webhook %s was called but not recorded: %s", click.webhook_id, error)
        log.info(
            "webhook %s on issue %s by %s: %s",
            click.webhook_id,
            issue["id"],
            click.user_id,
            "ok" if result.ok else result.error,
        )

    async def _say(self, click: WebhookClick, text: str) -> None:
        await self._tell(click.channel_id, click.user_id, text)


def _hook(issue: dict[str, Any], webhook_id: str) -> Hook | None:
    last_alert = issue.get("last_alert") or {}
    for hook in last_alert.get("webhooks") or []:
        if isinstance(hook, dict) and hook.get("id") == webhook_id:
            return hook
    return None


def _name(hook: Hook) -> str:
    return f"*{hook.get('buttonText') or hook.get('id')}*"


def _outcome(hook: Hook, result: WebhookResult) -> str:
    if result.ok:
        return f"{_name(hook)} done (HTTP {result.status_code})."
    return f"{_name(hook)} failed: {result.error}."
