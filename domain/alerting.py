"""The alerting settings the fold decides with: the reminder interval (with the channels that
have their own) and the deduplication window.

They are the worker's settings (`ALERTFOLD_RESEND_INTERVAL`,
`ALERTFOLD_CHANNEL_RESEND_INTERVALS`, `ALERTFOLD_DEDUPLICATION_WINDOW`), but the fold reads no
settings at run time: `alertfold verify` re-folds the log long after, maybe with other
settings, and must decide the same. So they travel as inputs. The worker's clock writes them
on every tick of a partition (`wire.ticks`), the partition keeps the latest tick's, and an
issue takes them when it opens (`IssueOpened` records them), keeping them for its life, moves
included. A change of setting therefore reaches the issues opened after the first tick that
carries it, at a place in the log a re-fold finds again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class AlertingSettings(BaseModel):
    """Whole seconds; None: off (what a tick that carries none means).

    `channel_reminder_interval_seconds` names the Slack channels whose issues take their own
    reminder interval instead of `reminder_interval_seconds`; 0 there: no reminders in that
    channel. Treat it as read-only, like the rest of this frozen value.
    """

    model_config = ConfigDict(frozen=True)

    reminder_interval_seconds: int | None = Field(default=None, ge=1)
    deduplication_window_seconds: int | None = Field(default=None, ge=1)
    channel_reminder_interval_seconds: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict
    )

    @classmethod
    def of(
        cls,
        reminder_interval: timedelta | None,
        deduplication_window: timedelta | None,
        channel_reminder_intervals: Iterable[tuple[str, timedelta]] = (),
    ) -> AlertingSettings:
        """From the worker's settings; a channel's zero interval turns its reminders off."""
        return cls(
            reminder_interval_seconds=_seconds(reminder_interval),
            deduplication_window_seconds=_seconds(deduplication_window),
            # In channel order, so every tick of the same settings is written the same.
            channel_reminder_interval_seconds={
                channel: _whole_seconds(interval) if interval else 0
                for channel, interval in sorted(channel_reminder_intervals)
            },
        )

    def reminder_interval_for(self, channel_id: str) -> int | None:
        """The interval an issue opening in the channel takes: the channel's own if it has
        one (0: none), else the installation's."""
        own = self.channel_reminder_interval_seconds.get(channel_id)
        if own is None:
            return self.reminder_interval_seconds
        return own or None

    def for_channels(self, keep: Callable[[str], bool]) -> AlertingSettings:
        """The same settings with only the kept channels' own intervals: the ticks of a
        partition need only those of the channels whose issues open there."""
        own = self.channel_reminder_interval_seconds
        return self.model_copy(
            update={"channel_reminder_interval_seconds": {c: s for c, s in own.items() if keep(c)}}
        )

    def __hash__(self) -> int:
        """Hashable as a frozen value should be, though one field is a mapping."""
        return hash(
            tuple(
                frozenset(value.items()) if isinstance(value, dict) else value
                for value in self.__dict__.values()
            )
        )


OFF = AlertingSettings()


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else _whole_seconds(duration)


def _whole_seconds(duration: timedelta) -> int:
    return max(int(duration.total_seconds()), 1)
