"""Progress of a long command on stderr: rich's progress bar on a terminal, plain lines otherwise.

A log file or CI console would fill with redrawn frames if the bar were drawn there, so
without a terminal a plain line is written every `line_interval` seconds instead. Either
way the figures are the caller's (done, total, elapsed), so both say the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn


def duration_text(seconds: float) -> str:
    """`0:07`, `12:05`, `3:02:41`: short enough for a progress line."""
    whole = max(int(seconds + 0.5), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_text(done: int, total: int, elapsed: float) -> str:
    """`1,200/5,000 events  400/s  ETA 0:10`."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if done >= total:
        eta = "done"
    elif rate > 0:
        eta = f"ETA {duration_text((total - done) / rate)}"
    else:
        eta = "ETA ?"
    return f"{done:,}/{total:,} events  {rate:,.0f}/s  {eta}"


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
        terminal = stream.isatty() if terminal is None else terminal
        self._bar = _Bar(stream, label) if terminal else None
        self._interval = redraw_interval if terminal else line_interval
        self._monotonic = monotonic
        self._next = monotonic()
        self._last_counts: tuple[int, int] | None = None

    def update(self, done: int, total: int, elapsed: float) -> None:
        now = self._monotonic()
        if now < self._next:
            return
        self._next = now + self._interval
        self._show(done, total, elapsed)

    def finish(self, done: int, total: int, elapsed: float) -> None:
        """The final state (unless that line was the last one shown); ends the bar."""
        if self._bar is not None:
            self._bar.show(done, total, elapsed)
            self._bar.close()
        elif self._last_counts != (done, total):
            self._show(done, total, elapsed)

    def _show(self, done: int, total: int, elapsed: float) -> None:
        self._last_counts = (done, total)
        if self._bar is not None:
            self._bar.show(done, total, elapsed)
            return
        self._stream.write(f"{self._label}{progress_text(done, total, elapsed)}\n")
        self._stream.flush()


class _Bar:
    """rich's bar, redrawn in place when told to (no refresh thread of its own)."""

    def __init__(self, stream: TextIO, label: str) -> None:
        console = Console(file=stream, force_terminal=True, highlight=False)
        self._progress = Progress(
            TextColumn(label.replace("[", r"\[")),
            BarColumn(),
            TextColumn("{task.fields[figures]}"),
            console=console,
            auto_refresh=False,
        )
        self._task: TaskID | None = None

    def show(self, done: int, total: int, elapsed: float) -> None:
        figures = progress_text(done, total, elapsed)
        if self._task is None:
            self._task = self._progress.add_task("", total=total, completed=done, figures=figures)
            self._progress.start()  # draws the first frame
            return
        self._progress.update(self._task, completed=done, total=total, figures=figures)
        self._progress.refresh()

    def close(self) -> None:
        self._progress.stop()
