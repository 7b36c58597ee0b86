"""The Socket Mode stand-in keeps Slack's 3 s deadline and spreads envelopes over an app's
connections, as the real slack_sdk client sees it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from harness.slack_server import BOT_TOKEN
from harness.slack_socket_mode import APP_TOKEN, SocketModeStandIn, socket_mode_stand_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


class App:
    """A Socket Mode app that acknowledges each envelope after `delay` seconds."""

    def __init__(self, slack: SocketModeStandIn, delay: float) -> None:
        self.delay = delay
        self.connection = 0  # the stand-in's number for this app's connection
        self.seen: list[dict[str, Any]] = []
        self._slack = slack
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._run(),))

    async def _run(self) -> None:
        web = AsyncWebClient(token=BOT_TOKEN, base_url=self._slack.url)
        client = SocketModeClient(app_token=APP_TOKEN, web_client=web)
        client.socket_mode_request_listeners.append(self._on_request)
        await client.connect()  # type: ignore[no-untyped-call]
        await self._stop.wait()
        await client.close()  # type: ignore[no-untyped-call]

    async def _on_request(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        self.seen.append({"id": req.envelope_id, "retry_attempt": req.retry_attempt})
        await asyncio.sleep(self.delay)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    def __enter__(self) -> App:
        # Counted before the app starts: its connection may open before the next line runs.
        opened, open_now = self._slack.connections_opened, len(self._slack.open_connections)
        self._thread.start()
        self._slack.wait_for_connection(opened + 1, at_once=open_now + 1)
        self.connection = opened + 1
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def slack() -> Iterator[SocketModeStandIn]:
    with socket_mode_stand_in() as stand_in:
        stand_in.ack_deadline = 0.5  # Slack's 3 s, shortened to keep the test quick
        yield stand_in


def test_an_interactive_envelope_acknowledged_too_late_fails_and_is_not_sent_again(
    slack: SocketModeStandIn,
) -> None:
    with App(slack, delay=1.0) as app:
        envelope = slack.send("interactive", {"type": "block_actions", "actions": []})
        with pytest.raises(AssertionError, match=r"not acknowledged within 0\.5 s"):
            slack.wait_for_ack(envelope)
        time.sleep(1.5)
    assert [s["id"] for s in app.seen] == [envelope]
    assert envelope in slack.late_acks and envelope not in slack.acks


def test_an_event_acknowledged_too_late_is_sent_again_with_its_retry_attempt(
    slack: SocketModeStandIn,
) -> None:
    with App(slack, delay=0.7) as app:
        envelope = slack.send("events_api", {"event": {"type": "reaction_added"}})
        slack.wait_for_ack(envelope)
    assert [s["retry_attempt"] for s in app.seen][:2] == [None, 1]


def test_an_envelope_acknowledged_in_time_is_acknowledged_once(slack: SocketModeStandIn) -> None:
    with App(slack, delay=0.0) as app:
        envelope = slack.send("interactive", {"type": "block_actions", "actions": []})
        slack.wait_for_ack(envelope)
    assert slack.ack_seconds[envelope] < 0.5 and len(app.seen) == 1


def test_envelopes_are_spread_over_the_apps_open_connections(slack: SocketModeStandIn) -> None:
    with App(slack, delay=0.0) as first, App(slack, delay=0.0) as second:
        envelopes = [
            slack.send("interactive", {"type": "block_actions", "actions": []}) for _ in range(6)
        ]
        for envelope in envelopes:
            slack.wait_for_ack(envelope)
    assert len(first.seen) == len(second.seen) == 3
    assert {s["id"] for s in first.seen + second.seen} == set(envelopes)


def test_an_event_a_stalled_connection_does_not_acknowledge_is_sent_again_to_another(
    slack: SocketModeStandIn,
) -> None:
    with App(slack, delay=30.0) as stalled, App(slack, delay=0.0) as live:
        events = [slack.send("events_api", {"event": {"type": "reaction_added"}}) for _ in range(2)]
        for event in events:
            slack.wait_for_ack(event)
        [stuck] = [e for e in events if slack.delivered_to(e)[0] == stalled.connection]
        assert slack.delivered_to(stuck) == [stalled.connection, live.connection]
        assert {"id": stuck, "retry_attempt": 1} in live.seen


def test_an_event_in_flight_on_a_connection_that_closes_reaches_another(
    slack: SocketModeStandIn,
) -> None:
    with App(slack, delay=0.0) as live:
        with App(slack, delay=30.0) as leaving:
            events = [slack.send("events_api", {"event": {}}) for _ in range(2)]
        for event in events:
            slack.wait_for_ack(event)
    [moved] = [e for e in events if slack.delivered_to(e)[0] == leaving.connection]
    assert slack.delivered_to(moved) == [leaving.connection, live.connection]
