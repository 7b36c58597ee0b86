"""Answering Slack in time: every request within the budget, and nobody left without a word."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from gateways.alert_publisher import BrokerUnavailable
from gateways.slack.acks import DID_NOT_TAKE, STILL_STORING, SUBMIT_AGAIN, Ack, Acknowledger
from gateways.slack.current_message import IssueNotInViewYet

BUDGET = 0.05
CLICK = {
    "type": "block_actions",
    "user": {"id": "U0ANN"},
    "container": {"channel_id": "C1", "message_ts": "1.1"},
    "actions": [{"action_id": "alertfold:resolve", "value": "issue-1"}],
}
SUBMISSION = {
    "type": "view_submission",
    "user": {"id": "U0ANN"},
    "view": {
        "callback_id": "alertfold_move",
        "blocks": [{"type": "section"}, {"type": "input", "block_id": "target"}],
    },
}
COMMAND = {"channel_id": "C1", "user_id": "U0ANN", "text": "resolve issue-1"}


@dataclass
class Handler:
    """Answers `answer`, or raises `error`, after `delay` seconds (a slow Kafka)."""

    delay: float = 0.0
    error: Exception | None = None
    answer: dict[str, Any] | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        try:
            await asyncio.sleep(self.delay)
            if self.error is not None:
                raise self.error
            return self.answer
        finally:
            self.finished.set()


@dataclass
class Told:
    said: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, channel: str, user: str, text: str) -> None:
        self.said.append((channel, user, text))


async def answer(handler: Handler, told: Told, kind: str, payload: dict[str, Any]) -> Any:
    started = asyncio.get_running_loop().time()
    ack = await Acknowledger(handler, told, budget=BUDGET).answer(kind, payload)
    assert asyncio.get_running_loop().time() - started < BUDGET + 0.5
    return ack


async def test_a_stored_request_is_acknowledged_with_its_answer() -> None:
    handler = Handler(answer={"response_type": "ephemeral", "text": "Resolving `issue-1`."})
    assert await answer(handler, Told(), "slash_commands", COMMAND) == Ack(handler.answer)


async def test_a_click_kafka_refused_is_acknowledged_and_the_user_told_to_try_again() -> None:
    told = Told()
    ack = await answer(Handler(error=BrokerUnavailable("down")), told, "interactive", CLICK)
    assert ack == Ack()
    await asyncio.sleep(0.01)
    assert told.said == [("C1", "U0ANN", DID_NOT_TAKE)]


async def test_a_click_kafka_is_slow_to_store_is_acknowledged_in_time_and_told_if_it_fails() -> (
    None
):
    told = Told()
    handler = Handler(delay=BUDGET * 4, error=BrokerUnavailable("timed out"))
    assert await answer(handler, told, "interactive", CLICK) == Ack()
    assert told.said == []  # not yet known
    await handler.finished.wait()
    await asyncio.sleep(0.01)
    assert told.said == [("C1", "U0ANN", DID_NOT_TAKE)]


async def test_a_click_stored_late_is_not_called_a_failure() -> None:
    told = Told()
    handler = Handler(delay=BUDGET * 4)
    assert await answer(handler, told, "interactive", CLICK) == Ack()
    await handler.finished.wait()
    await asyncio.sleep(0.01)
    assert told.said == []


async def test_a_modal_whose_submission_did_not_take_stays_open_and_says_so() -> None:
    for handler in (Handler(error=BrokerUnavailable("down")), Handler(delay=BUDGET * 4)):
        ack = await answer(handler, Told(), "interactive", SUBMISSION)
        assert ack == Ack({"response_action": "errors", "errors": {"target": SUBMIT_AGAIN}})


async def test_a_slow_slash_command_is_answered_in_time() -> None:
    ack = await answer(Handler(delay=BUDGET * 4), Told(), "slash_commands", COMMAND)
    assert ack == Ack({"response_type": "ephemeral", "text": STILL_STORING})
    refused = await answer(Handler(error=BrokerUnavailable("x")), Told(), "slash_commands", COMMAND)
    assert refused == Ack({"response_type": "ephemeral", "text": DID_NOT_TAKE})


async def test_an_event_not_stored_is_left_for_slack_to_send_again() -> None:
    for handler in (
        Handler(error=BrokerUnavailable("down")),
        Handler(error=IssueNotInViewYet("issue-1")),
        Handler(delay=BUDGET * 4),
    ):
        assert await answer(handler, Told(), "events_api", {"event": {}}) is None


async def test_an_event_that_cannot_be_read_is_acknowledged_so_it_does_not_come_back() -> None:
    ack = await answer(Handler(error=KeyError("event")), Told(), "events_api", {})
    assert ack == Ack()
