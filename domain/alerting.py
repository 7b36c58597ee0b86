"""The alerting settings the fold decides with: the reminder interval and the deduplication
window.

They are the worker's settings (`ALERTFOLD_RESEND_INTERVAL`, `ALERTFOLD_DEDUPLICATION_WINDOW`),
but the fold reads no settings at run time: `alertfold verify` re-folds the log long after,
maybe with other settings, and must decide the same. So they travel as inputs. The worker's
clock writes them on every tick of a partition (`wire.ticks`), the partition keeps the latest
tick's, and an issue takes them when it opens (`IssueOpened` records them), keeping them for
its life, moves included. A change of setting therefore reaches the issues opened after the
first tick that carries it, at a place in the log a re-fold finds again.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class AlertingSettings(BaseModel):
    """Whole seconds; None: off (what a tick that carries none means)."""

    model_config = ConfigDict(frozen=True)

    reminder_interval_seconds: int | None = Field(default=None, ge=1)
    deduplication_window_seconds: int | None = Field(default=None, ge=1)

    @classmethod
    def of(
        cls, reminder_interval: timedelta | None, deduplication_window: timedelta | None
    ) -> AlertingSettings:
        return cls(
            reminder_interval_seconds=_seconds(reminder_interval),
            deduplication_window_seconds=_seconds(deduplication_window),
        )


OFF = AlertingSettings()


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else max(int(duration.total_seconds()), 1)
