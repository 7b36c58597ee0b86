"""When `alertfold up` starts a crashed part again, and when it gives up.

A part can die of something passing (a broker that vanishes while the part still declares its
topics), and so can the local broker (killed, out of memory); starting it again after a pause
heals that, as a service manager would. It must not loop forever on something lasting: a
configuration error (exit code 2, the CLI's code for "fix the settings") stops everything at
once, and so do too many crashes in a short time. A part that found no broker to talk to
(exit code 75) is waiting, not crashing: it is started again after the same growing pauses,
for as long as the broker is away, without using up the crash allowance. Pure, with the
time passed in, so the policy is tested without processes.
"""

from __future__ import annotations

from collections import defaultdict, deque

# The CLI's exit code for settings a person must fix: starting again cannot help.
CONFIGURATION_ERROR = 2
# The CLI's exit code for "no Kafka broker answered in time" (sysexits' EX_TEMPFAIL).
BROKER_UNAVAILABLE = 75


class Restarts:
    def __init__(
        self,
        *,
        limit: int = 5,
        window_seconds: float = 300.0,
        first_pause: float = 1.0,
        max_pause: float = 30.0,
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._crashes: defaultdict[str, deque[float]] = defaultdict(deque)

    def after_crash(self, part: str, code: int, now: float) -> float | None:
        """Seconds to wait before starting the part again, or None to stop everything."""
        if code == CONFIGURATION_ERROR:
            return None
        crashes = self._crashes[part]
        while crashes and now - crashes[0] >= self._window:
            crashes.popleft()
        crashes.append(now)
        if len(crashes) > self._limit and code != BROKER_UNAVAILABLE:
            return None
        pause: float = self._first_pause * 2.0 ** (len(crashes) - 1)
        return min(pause, self._max_pause)

    def describe(self, part: str) -> str:
        return f"crash {len(self._crashes[part])} of at most {self._limit} in {self._window:.0f} s"
