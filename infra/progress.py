"""Progress of a long command on stderr: a redrawn bar on a terminal, plain lines otherwise.

A log file or CI console would fill with carriage returns if the bar were redrawn there, so
without a terminal a plain line is written every `line_interval` seconds instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 28


def duration_text(seconds: float) -> str:
    """`0:07`, `12:05`, `3:02:41`: short enough for a progress line."""
    whole = max(int(seconds + 0.5), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(done: int, total: int, elapsed: float, *, bar: bool) -> str:
    """`[#####.....] 1,200/5,000 events  400/s  ETA 0:10` (the bar only on a terminal)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if done >= total:
        eta = "done"
    elif rate > 0:
        eta = f"ETA {duration_text((total - done) / rate)}"
    else:
        eta = "ETA ?"
    text = f"{done:,}/{total:,} events  {rate:,.0f}/s  {eta}"
    if not bar:
        return text
    filled = BAR_WIDTH if total <= 0 else min(BAR_WIDTH, BAR_WIDTH * done // total)
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text}"


class ProgressDisplay:
    """Shows `update(done, total, elapsed)` calls on a stream, at a readable pace."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool | None = None,
        label: str = "",
        line_interval: float = 5.0,
        redraw_interval: float = 0.1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._terminal = stream.isatty() if terminal is None else terminal
        self._interval = redraw_interval if self._terminal else line_interval
        self._monotonic = monotonic
        self._next = monotonic()
        self._last = ""
        self._last_counts: tuple[int, int] | None = None

    def update(self, done: int, total: int, elapsed: float) -> None:
        now = self._monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        self._show(done, total, elapsed)

    def finish(self, done: int, total: int, elapsed: float) -> None:
        """The final state (unless that line was the last one shown); ends a terminal line."""
        if self._terminal or self._last_counts != (done, total):
            self._show(done, total, elapsed)
        if self._terminal:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, done: int, total: int, elapsed: float) -> None:
        text = progress_text(done, total, elapsed, bar=self._terminal)
        self._last_counts = (done, total)
        if self._terminal:
            padding = " " * max(len(self._last) - len(text), 0)
            self._stream.write(f"\r{self._label}{text}{padding}")
        else:
            self._stream.write(f"{self._label}{text}\n")
        self._last = text
        self._stream.flush()
