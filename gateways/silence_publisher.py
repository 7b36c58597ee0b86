"""Setting and expiring silences: one record on every partition of `interactions`.

Every channel's actor must see a silence at one definite place among its own inputs (so a
re-fold decides the same), hence a copy per partition rather than a shared table. Expiring
is setting the same silence again with its end moved to now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from domain.silences import Silence
from gateways.alert_publisher import AlertPublisher
from wire.silences import encode_silence

# A pending silence expired before it started still needs an end after its start.
_INSTANT = timedelta(microseconds=1)


class SilencePublisher:
    def __init__(
        self, publisher: AlertPublisher, topic: str, clock: Callable[[], datetime]
    ) -> None:
        self._publisher = publisher
        self._topic = topic
        self._clock = clock

    async def create(self, silence: Silence) -> None:
        """Set the silence; returns once every partition has it (acks=all)."""
        await self._publish(silence, self._clock())

    async def expire(self, silence: Silence) -> Silence:
        """End the silence now; returns the silence as it now stands."""
        now = self._clock()
        if silence.ends_at <= now:
            return silence
        ended = silence.model_copy(
            update={"ends_at": now, "starts_at": min(silence.starts_at, now - _INSTANT)}
        )
        await self._publish(ended, now)
        return ended

    async def _publish(self, silence: Silence, at: datetime) -> None:
        value = encode_silence(silence, at=at)
        await self._publisher.broadcast(self._topic, f"silence:{silence.id}", value)
