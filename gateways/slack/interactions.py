"""What alertfold does with one Slack request, however it arrived (Socket Mode or HTTP).

It only translates: read the request (`socket_requests`, `surface_requests`), find the issue
the message or button is about (`current_message`), check the user may do it there, and put
an `Interaction` on Kafka. `handle` returns once the broker acknowledged the record and
raises `BrokerUnavailable` when it did not; how long Slack may wait for that is the
acknowledging side's business (`acks`).

A button names its issue in its value, and acts only from that issue's current message (or
its option buttons), judged by the admins of the issue's own channel: a button left on an
old message, after a move or a re-post, must not act where the issue no longer is.

People are told why nothing happened (unknown issue, already resolved, not allowed) in an
ephemeral message; "not allowed" at most once per user and channel every 30 minutes, so a
stream of refused reactions does not become a stream of messages. Nobody is told an issue is
resolved already when they resolved it themselves: that is their own check mark delivered
again, to this gateway or another one, after it took effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from domain.interactions import Actor, Interaction, InteractionKind
from gateways.slack.current_message import NOT_ITS_MESSAGE, IssueMessages
from gateways.slack.metrics import INTERACTIONS
from gateways.slack.permissions import NotAllowed, SlackPermissions
from gateways.slack.ports import Issue, IssueFinder, Publisher
from gateways.slack.socket_requests import IssueAct, ReactionNames, SlashCommand, read_request
from gateways.slack.surface_context import Surfaces
from gateways.slack.surface_requests import read_surface_request
from gateways.slack.surfaces import handle_surface
from gateways.slack.usergroups import Admins
from wire.interactions import encode_interaction

if TYPE_CHECKING:
    from gateways.slack.webhook_clicks import WebhookClicks

log = logging.getLogger("alertfold.slack.interactions")

REFUSAL_INTERVAL = timedelta(minutes=30)
GONE = "That issue is no longer open here."


class SlackInteractions:
    """What to do with one request; how it arrived and is answered is the caller's business."""

    def __init__(
        self,
        *,
        finder: IssueFinder,
        publisher: Publisher,
        permissions: SlackPermissions,
        tell: Callable[[str, str, str], Awaitable[None]],
        clock: Callable[[], datetime],
        reactions: ReactionNames | None = None,
        admins: Admins | None = None,
        surfaces: Surfaces | None = None,
        webhook_clicks: WebhookClicks | None = None,
        messages: IssueMessages | None = None,
    ) -> None:
        self._finder = finder
        self._messages = messages or IssueMessages(finder)  # without Slack: the view only
        self._publisher = publisher
        self._permissions = permissions
        self._admins = admins or Admins(permissions, None)  # user groups need Slack
        self._surfaces = surfaces  # modals, option buttons, silences
        self._webhook_clicks = webhook_clicks  # handled in the background, acked at once
        self._tell = tell  # (channel, user, text): an ephemeral message
        self._clock = clock
        self._reactions = reactions or ReactionNames()
        self._last_refusal: dict[tuple[str, str], datetime] = {}

    async def handle(self, request_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Act on one request; returns the acknowledgement payload (a slash command's reply).

        Raises `BrokerUnavailable` when the interaction could not be stored, and
        `IssueNotInViewYet` when a message names an issue the view does not hold yet.
        """
        if self._webhook_clicks is not None and self._webhook_clicks.start(request_type, payload):
            return None
        request = read_request(request_type, payload, self._reactions, self._clock())
        if isinstance(request, IssueAct):
            await self._act(request)
        elif isinstance(request, SlashCommand):
            return {"response_type": "ephemeral", "text": await self._command(request)}
        elif self._surfaces is not None:
            surface = read_surface_request(request_type, payload, self._clock())
            if surface is not None:
                return await handle_surface(self._surfaces, surface, self._refuse)
        return None

    async def _act(self, act: IssueAct) -> None:
        user = act.actor.id
        issue = await self._find(act)
        if issue is None:
            if act.issue_id:  # a button on a message whose issue is gone
                await self._tell(act.channel_id, user, GONE)
            return  # a reaction on some other message: not ours
        if act.where is not None and not await self._messages.shows(issue, act.where):
            await self._tell(act.channel_id, user, NOT_ITS_MESSAGE)
            return
        problem = _why_not(act.kind, issue)
        if problem:
            if not _done_by(act, issue):
                await self._tell(act.channel_id, user, problem)
            return
        try:
            await self._admins.check_may(user, issue["channel_id"], act.kind)
        except NotAllowed as refusal:
            await self._refuse(act.channel_id, user, str(refusal))
            return
        await self._publish(act, issue)

    async def _publish(self, act: IssueAct, issue: Issue) -> None:
        interaction = Interaction(
            interaction_id=act.interaction_id,
            kind=act.kind,
            channel_id=issue["channel_id"],
            correlation_id=issue["correlation_id"],
            issue_id=issue["id"],
            at=act.at,
            actor=act.actor,
        )
        await self._publisher.publish([(interaction.channel_id, encode_interaction(interaction))])
        INTERACTIONS.labels(act.kind.value).inc()
        log.info(
            "%s by %s on issue %s",
            act.kind,
            act.actor.id,
            issue["id"],
            extra={"issue_id": issue["id"], "channel_id": interaction.channel_id},
        )

    async def _find(self, act: IssueAct) -> Issue | None:
        if act.issue_id:
            issue = await asyncio.to_thread(self._finder.get_issue, act.issue_id)
        elif act.slack_ts:
            issue = await self._messages.issue_of(act.channel_id, act.slack_ts)
        else:
            return None
        if issue is None or issue.get("status") == "archived":
            return None
        return issue

    async def _command(self, command: SlashCommand) -> str:
        verb, _, rest = command.text.partition(" ")
        if verb in ("", "list"):
            issues = await asyncio.to_thread(
                self._finder.list_issues, channel_id=command.channel_id, status="open", limit=20
            )
            if not issues:
                return "No open issues in this channel."
            return "\n".join(f"• `{i['id']}` {i['severity']}: {i['header']}" for i in issues)
        if verb == "resolve" and rest.strip():
            return await self._resolve_by_command(command, rest.strip())
        return (
            "`/alertfold list`: open issues in this channel\n"
            "`/alertfold resolve ISSUE_ID`: resolve an issue\n`/alertfold help`: this text"
        )

    async def _resolve_by_command(self, command: SlashCommand, issue_id: str) -> str:
        issue = await asyncio.to_thread(self._finder.get_issue, issue_id)
        if issue is None or issue["channel_id"] != command.channel_id:
            return f"No issue `{issue_id}` in this channel."
        problem = _why_not(InteractionKind.RESOLVED, issue)
        if problem:
            return problem
        try:
            await self._admins.check_may(
                command.user_id, command.channel_id, InteractionKind.RESOLVED
            )
        except NotAllowed as refusal:
            return str(refusal)
        now = self._clock()
        act = IssueAct(
            kind=InteractionKind.RESOLVED,
            channel_id=command.channel_id,
            actor=Actor(kind="slack_user", id=command.user_id),
            interaction_id=_command_id(command, issue_id, now),
            at=now,
            issue_id=issue_id,
        )
        await self._publish(act, issue)
        return f"Resolving `{issue_id}`."

    async def _refuse(self, channel: str, user: str, text: str) -> None:
        now = self._clock()
        last = self._last_refusal.get((user, channel))
        if last is not None and now - last < REFUSAL_INTERVAL:
            return
        self._last_refusal[(user, channel)] = now
        await self._tell(channel, user, text)


def _why_not(kind: InteractionKind, issue: Issue) -> str:
    """A refusal people understand, from the view; the fold checks again for real."""
    status = issue.get("status")
    if kind in (InteractionKind.RESOLVED, InteractionKind.ACKNOWLEDGED) and status != "open":
        return f"This issue is {status} already."
    if kind is InteractionKind.UNRESOLVED and status != "resolved":
        return "This issue is not resolved."
    return ""


def _done_by(act: IssueAct, issue: Issue) -> bool:
    """Whether the view shows the issue resolved by this very person: most likely by this
    act, seen again (Slack sends a reaction again, maybe to another gateway, when it was
    acknowledged late), so there is nothing to do and nothing to tell them."""
    resolved_by = issue.get("resolved_by") or {}
    return (
        act.kind is InteractionKind.RESOLVED
        and issue.get("status") == "resolved"
        and resolved_by.get("id") == act.actor.id
    )


def _command_id(command: SlashCommand, issue_id: str, now: datetime) -> str:
    """The invocation's own id (its trigger id), so a command handled twice folds once."""
    if command.trigger_id:
        return f"command/{command.trigger_id}"
    return f"command/{command.user_id}/{issue_id}/{now.isoformat()}"


def ephemeral_teller(web_client: AsyncWebClient) -> Callable[[str, str, str], Awaitable[None]]:
    async def tell(channel: str, user: str, text: str) -> None:
        try:
            await web_client.chat_postEphemeral(channel=channel, user=user, text=text)
        except Exception as error:  # telling is best effort; the act itself is decided
            log.warning("could not tell %s in %s: %s", user, channel, error)

    return tell
