"""Progress reporting: preparing and starting a broker takes long enough to narrate."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO

Progress = Callable[[str], None]


def no_progress(message: str) -> None:
    """The default for library and test use, where nobody watches the steps."""
    del message


def print_progress(message: str, stream: IO[str] | None = None) -> None:
    """A progress callback for command-line use: one line per step, to stderr."""
    target = stream or sys.stderr
    print(message, file=target, flush=True)
