"""Slack's Socket Mode: the connection, and each envelope answered through `acks`.

The real `slack_sdk` client holds the socket and reconnects by itself on Slack's
`disconnect`; it runs every envelope's listener as its own task, so a slow one holds up no
other. What an envelope is acknowledged with, and whether at all, is `Acknowledger`'s to say.
While it runs, the connection's state is looked at every second for the metrics (the
client tells of no change by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from gateways.slack.acks import Acknowledger
from gateways.slack.metrics import SOCKET_CONNECTED, SOCKET_SESSIONS, count_request

log = logging.getLogger("alertfold.slack.socket")

WATCH_SECONDS = 1.0


class SocketModeGateway:
    def __init__(self, app_token: str, web_client: AsyncWebClient, acks: Acknowledger) -> None:
        self._app_token = app_token
        self._web_client = web_client
        self._acks = acks
        self._stopping = asyncio.Event()
        self.connected = False

    async def run(self) -> None:
        client = SocketModeClient(app_token=self._app_token, web_client=self._web_client)
        client.socket_mode_request_listeners.append(self._on_request)
        await client.connect()  # type: ignore[no-untyped-call]
        log.info("Socket Mode connected")
        try:
            await self._watch(client)
        finally:
            self._show_connected(False)
            await client.close()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        self._stopping.set()

    async def _watch(self, client: SocketModeClient) -> None:
        """Until stopped: whether the socket is open, and each new session it opened."""
        session = None
        while not self._stopping.is_set():
            self._show_connected(await client.is_connected())
            if client.current_session is not None and client.current_session is not session:
                session = client.current_session
                SOCKET_SESSIONS.inc()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_SECONDS):
                    await self._stopping.wait()

    def _show_connected(self, connected: bool) -> None:
        self.connected = connected
        SOCKET_CONNECTED.set(1 if connected else 0)

    async def _on_request(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        ack = await self._acks.answer(request.type, request.payload)
        count_request("socket", request.type, ack is not None)
        if ack is None:
            log.info("envelope %s left unacknowledged for Slack to resend", request.envelope_id)
            return
        response = SocketModeResponse(envelope_id=request.envelope_id, payload=ack.payload)
        await client.send_socket_mode_response(response)
