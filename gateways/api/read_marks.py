"""Read your own writes: answer once the view has folded past the alerts a client sent.

`POST /alert` answers 202 with where each accepted alert went (`partition:offset` on the
`alerts` topic). A view asked with `after=` those marks waits until the projector has
written an issue event that the fold decided at or past each of them (its cause, or its
`folded_before` mark of the alerts topic), so the view shows everything those alerts did on
their channel's partition. An alert that changed nothing (a stale one, a resolve with no
open issue) shows only once a later input of its partition changed something.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from gateways.api.errors import ApiError
from projections.lookup_reader import LookupReader


def parse_after(text: str | None) -> dict[int, int]:
    """`3:1207,5:88` → {3: 1207, 5: 88} (the highest offset per partition); 400 otherwise."""
    marks: dict[int, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        partition, colon, offset = part.strip().partition(":")
        if not (colon and partition.isdigit() and offset.isdigit()):
            raise ApiError(400, f"after: {part.strip()!r} is not partition:offset")
        marks[int(partition)] = max(marks.get(int(partition), 0), int(offset))
    return marks


def after_text(positions: Mapping[int, int]) -> str:
    """The `after` value naming these (partition → offset) marks."""
    return ",".join(f"{partition}:{offset}" for partition, offset in sorted(positions.items()))


class ReadMarks:
    """Waits of one API process on the view's marks, served by one reading of them.

    However many requests wait, the marks are read once every `POLL_S` while any does (not
    once per request and backoff step: a storm of scripts waiting for their alerts would
    multiply the queries by the waiters), and each waiter sees the view within `POLL_S` of
    it folding past its mark.
    """

    DEFAULT_WAIT_MS = 2000
    MAX_WAIT_MS = 10_000
    POLL_S = 0.005
    RESPONSES: ClassVar[dict[int | str, dict[str, Any]]] = {
        400: {"description": "a parameter cannot be used (the message says which and why)"},
        504: {"description": "the view had not folded past `after` within `wait_ms`"},
    }

    def __init__(self, reader: LookupReader, topic: str) -> None:
        self._reader = reader
        self._topic = topic
        self._waiting = 0
        self._poller: asyncio.Task[None] | None = None
        self._polled = asyncio.Event()
        self._folded: dict[int, int] = {}
        self._failure: Exception | None = None

    async def wait(self, after: Mapping[int, int], wait_ms: int) -> None:
        """Return once the view has folded past every mark; 504 when `wait_ms` runs out."""
        if not after:
            return
        deadline = time.monotonic() + wait_ms / 1000
        folded = self._reader.folded(self._topic)
        self._waiting += 1
        try:
            while True:
                behind = {p: o for p, o in after.items() if folded.get(p, 0) <= o}
                if not behind:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    at = after_text({p: folded.get(p, 0) for p in behind})
                    raise ApiError(
                        504,
                        f"the view has not folded past {after_text(behind)} within {wait_ms} ms "
                        f"(it has folded up to, not including, {at})",
                    )
                folded = await self._next_reading(remaining)
        finally:
            self._waiting -= 1

    async def _next_reading(self, timeout: float) -> dict[int, int]:
        """The marks as the poller reads them next (the last reading if `timeout` runs out)."""
        poller = self._poller
        if poller is None or poller.done() or poller.get_loop() is not asyncio.get_running_loop():
            # (a poller of another event loop: an app served by several loops in turn)
            self._polled = asyncio.Event()
            self._poller = asyncio.create_task(self._poll())
        polled = self._polled
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await polled.wait()
        if self._failure is not None:
            raise self._failure
        return self._folded

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.POLL_S)
            if not self._waiting:
                return
            try:
                self._folded, self._failure = self._reader.folded(self._topic), None
            except Exception as exc:
                self._failure = exc
            polled, self._polled = self._polled, asyncio.Event()
            polled.set()
