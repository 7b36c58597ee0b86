"""Answering Slack in time: what each request gets back, within Slack's 3 s, whatever Kafka does.

Slack treats the two kinds of request differently, and so does this. An Events API delivery
(a reaction) that is not acknowledged is sent again, with `retry_attempt`; so it is
acknowledged only once its interaction is on Kafka (or it needs none), and otherwise left
unacknowledged for Slack to retry, its event id making the retry fold once. A button, a
menu, a shortcut, a modal submission or a slash command is sent once and never again; it is
always acknowledged within `ACK_BUDGET`, and when its interaction could not be stored in
that time the person is told so rather than left with Slack's timeout: in the modal (which
stays open), in the command's reply, or in an ephemeral message. A store still under way at
the deadline carries on; if it fails after all, the person is told then.

`SocketModeGateway` and the HTTP endpoints both answer through `Acknowledger.answer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.current_message import IssueNotInViewYet
from gateways.slack.surface_context import Tell

log = logging.getLogger("alertfold.slack.acks")

# Slack waits 3 s; what is left is for the answer's way back.
ACK_BUDGET = 2.5
DID_NOT_TAKE = "That did not take: alertfold could not store it just now. Please try again."
STILL_STORING = (
    "alertfold is slow to store that just now; you will be told here if it does not take."
)
SUBMIT_AGAIN = "alertfold could not store this just now; please submit again."


class Handler(Protocol):
    async def handle(self, request_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Raises `BrokerUnavailable` (not stored) or `IssueNotInViewYet` (decide later)."""
        ...


@dataclass(frozen=True)
class Ack:
    """Acknowledge, with this payload (a command's reply, a modal's `response_action`)."""

    payload: dict[str, Any] | None = None


class Acknowledger:
    def __init__(self, handler: Handler, tell: Tell, budget: float = ACK_BUDGET) -> None:
        self._handler = handler
        self._tell = tell
        self._budget = budget
        self._running: set[asyncio.Task[Any]] = set()

    async def answer(self, request_type: str, payload: dict[str, Any]) -> Ack | None:
        """What to acknowledge the request with; None: leave it unacknowledged (retried)."""
        work = asyncio.ensure_future(self._handler.handle(request_type, payload))
        done, _ = await asyncio.wait({work}, timeout=self._budget)
        if request_type == "events_api":
            if done:
                return self._event_answer(work)
            log.warning("an event is not stored in %.1f s; Slack will send it again", self._budget)
            self._keep(work)
            return None
        if not done:
            return self._late(work, request_type, payload)
        error = work.exception()
        if error is None:
            return Ack(work.result())
        if isinstance(error, BrokerUnavailable):
            log.warning("a %s request did not take: %s", request_type, error)
            return self._did_not_take(request_type, payload)
        log.error("a %s request failed", request_type, exc_info=error)
        return Ack()

    def _event_answer(self, work: asyncio.Future[Any]) -> Ack | None:
        error = work.exception()
        if isinstance(error, BrokerUnavailable | IssueNotInViewYet):
            log.warning("not acknowledging an event, Slack will send it again: %r", error)
            return None
        if error is not None:  # a bad payload must not come back forever
            log.error("an event could not be handled", exc_info=error)
        return Ack(None if error else work.result())

    def _late(self, work: asyncio.Future[Any], request_type: str, payload: dict[str, Any]) -> Ack:
        log.warning("a %s request is not stored within %.1f s", request_type, self._budget)
        if _is_submission(request_type, payload):
            self._keep(work)  # the modal stays open and says so
            return _modal_error(payload)
        channel, user = _where(payload)

        async def tell_if_it_did_not_take(error: Exception) -> None:
            if isinstance(error, BrokerUnavailable) and channel and user:
                await self._tell(channel, user, DID_NOT_TAKE)

        self._keep(work, tell_if_it_did_not_take)
        if request_type == "slash_commands":
            return Ack({"response_type": "ephemeral", "text": STILL_STORING})
        return Ack()

    def _did_not_take(self, request_type: str, payload: dict[str, Any]) -> Ack:
        if _is_submission(request_type, payload):
            return _modal_error(payload)
        if request_type == "slash_commands":
            return Ack({"response_type": "ephemeral", "text": DID_NOT_TAKE})
        channel, user = _where(payload)
        if channel and user:  # told after the answer: telling is a Slack call of its own
            self._in_background(self._tell(channel, user, DID_NOT_TAKE))
        return Ack()

    def _keep(
        self,
        work: asyncio.Future[Any],
        on_failure: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Let the work finish after the answer, and `on_failure` run if it fails."""

        async def finish() -> None:
            try:
                await work
            except Exception as failure:
                log.warning("a request answered before it was done failed: %r", failure)
                if on_failure is not None:
                    await on_failure(failure)

        self._in_background(finish())

    def _in_background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)


def _is_submission(request_type: str, payload: dict[str, Any]) -> bool:
    return request_type == "interactive" and payload.get("type") == "view_submission"


def _modal_error(payload: dict[str, Any]) -> Ack:
    """Keep the modal open with the problem under its first input."""
    blocks = (payload.get("view") or {}).get("blocks") or []
    inputs = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"]
    first = next((str(b) for b in inputs if b), "")
    if not first:
        return Ack()
    return Ack({"response_action": "errors", "errors": {first: SUBMIT_AGAIN}})


def _where(payload: dict[str, Any]) -> tuple[str, str]:
    """The channel and user to tell, from any interactive or command payload."""
    container = payload.get("container") or {}
    channel = (
        container.get("channel_id")
        or (payload.get("channel") or {}).get("id")
        or payload.get("channel_id")
        or ""
    )
    user = (payload.get("user") or {}).get("id") or payload.get("user_id") or ""
    return str(channel), str(user)
