"""Severity of an alert or an issue, ordered the way Slack Manager ranks them."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    PANIC = "panic"
    ERROR = "error"
    WARNING = "warning"
    RESOLVED = "resolved"
    INFO = "info"

    @property
    def priority(self) -> int:
        """Rank used to compare issues: panic 3, error 2, warning 1, resolved and info 0."""
        return _PRIORITY[self]

    @property
    def is_firing(self) -> bool:
        """Whether an alert of this severity means something is wrong right now."""
        return self in (Severity.PANIC, Severity.ERROR, Severity.WARNING)


_PRIORITY = {
    Severity.PANIC: 3,
    Severity.ERROR: 2,
    Severity.WARNING: 1,
    Severity.RESOLVED: 0,
    Severity.INFO: 0,
}

# Spellings Slack Manager accepts for its five severities; anything else is a validation error.
SEVERITY_ALIASES: dict[str, Severity] = {
    "": Severity.ERROR,
    "critical": Severity.ERROR,
    "resolve": Severity.RESOLVED,
    "recover": Severity.RESOLVED,
    "recovered": Severity.RESOLVED,
    **{s.value: s for s in Severity},
}
