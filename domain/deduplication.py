"""The deduplication window: a fire-and-forget alert repeated inside it counts once.

Slack Manager archives a fire-and-forget issue (follow-up off) 30 s after its last alert, so
a source repeating the same alert every minute gets a new issue, and a new Slack message,
every minute. With a window (Alert Bridge's `deduplication_window`), such an issue stays open
until the window has passed since its last counted alert (30 s at least), and an alert that
repeats the issue's latest one (same severity, header and text; channel and correlation id
are the issue's own) inside the window is not taken: no event, no count, and the window does
not restart. Once it has passed, the repeat opens a new issue: the source is shown once per
window. Any other alert joins the issue as usual and starts the window again.

The window is the one the issue took when it opened (`domain.alerting`), so a re-fold
decides the same whatever the settings are now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.alert import Alert
from domain.issue_policy import FIRE_AND_FORGET_ARCHIVE_DELAY, IssuePolicy
from domain.issue_state import IssueState
from domain.severity import Severity


def fire_and_forget_archive_delay(state: IssueState) -> timedelta:
    """How long after its last alert a fire-and-forget issue is archived."""
    window = _window(state)
    return max(window, FIRE_AND_FORGET_ARCHIVE_DELAY) if window else FIRE_AND_FORGET_ARCHIVE_DELAY


def is_repeat(state: IssueState, alert: Alert, at: datetime) -> bool:
    """Whether the alert, happening `at`, repeats the open issue's latest inside its window."""
    window = _window(state)
    if window is None or state.status != "open" or at >= state.last_alert_at + window:
        return False
    if not IssuePolicy.of(state.last_alert).fire_and_forget or not _fire_and_forget(alert):
        return False
    latest = state.last_alert
    return (
        alert.severity.value == latest.get("severity")
        and alert.header == latest.get("header", "")
        and alert.text == latest.get("text", "")
    )


def _fire_and_forget(alert: Alert) -> bool:
    return not alert.issue_follow_up_enabled or alert.severity is Severity.INFO


def _window(state: IssueState) -> timedelta | None:
    seconds = state.deduplication_window_seconds
    return None if seconds is None else timedelta(seconds=seconds)
