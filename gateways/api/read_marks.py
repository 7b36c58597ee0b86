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
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from gateways.api.errors import ApiError
from projections.lookup_reader import LookupReader

_FIRST_PAUSE_S = 0.002
_LONGEST_PAUSE_S = 0.025


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
    DEFAULT_WAIT_MS = 2000
    MAX_WAIT_MS = 10_000
    RESPONSES: ClassVar[dict[int | str, dict[str, Any]]] = {
        400: {"description": "a parameter cannot be used (the message says which and why)"},
        504: {"description": "the view had not folded past `after` within `wait_ms`"},
    }

    def __init__(self, reader: LookupReader, topic: str) -> None:
        self._reader = reader
        self._topic = topic

    async def wait(self, after: Mapping[int, int], wait_ms: int) -> None:
        """Return once the view has folded past every mark; 504 when `wait_ms` runs out."""
        if not after:
            return
        deadline = time.monotonic() + wait_ms / 1000
        pause = _FIRST_PAUSE_S
        while True:
            folded = self._reader.folded(self._topic)
            behind = {p: o for p, o in after.items() if folded.get(p, 0) <= o}
            if not behind:
                return
            if time.monotonic() >= deadline:
                at = after_text({p: folded.get(p, 0) for p in behind})
                raise ApiError(
                    504,
                    f"the view has not folded past {after_text(behind)} within {wait_ms} ms "
                    f"(it has folded up to, not including, {at})",
                )
            await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, _LONGEST_PAUSE_S)
