"""How an issue reads in Slack, following Slack Manager's conventions so its users feel at
home: a status emoji per severity in place of `:status:`, and the alert count."""

from __future__ import annotations

from domain.issue_state import IssueSnapshot
from domain.severity import Severity
from gateways.slack.mrkdwn import escaped

STATUS_EMOJI: dict[Severity, str] = {
    Severity.PANIC: ":scream:",
    Severity.ERROR: ":x:",
    Severity.WARNING: ":warning:",
    Severity.INFO: ":information_source:",
    Severity.RESOLVED: ":white_check_mark:",
}


INCONCLUSIVE_EMOJI = ":grey_question:"
MUTED_EMOJI = ":no_bell:"


def status_emoji(issue: IssueSnapshot) -> str:
    """Resolved (or archived after resolving) wins over silenced, which wins over severity."""
    if issue.status == "resolved" or (issue.status == "archived" and issue.resolved_at):
        if issue.resolution == "inconclusive":
            return INCONCLUSIVE_EMOJI
        return STATUS_EMOJI[Severity.RESOLVED]
    if getattr(issue, "muted_by", None) or getattr(issue, "silenced_until", None):
        return MUTED_EMOJI
    return STATUS_EMOJI[issue.severity]


def with_status(text: str, issue: IssueSnapshot) -> str:
    return text.replace(":status:", status_emoji(issue))


def message_summary(issue: IssueSnapshot) -> str:
    """One line per issue: what the channel's message says at a glance (mrkdwn, escaped)."""
    header = with_status(issue.header, issue) or issue.correlation_id
    if ":status:" not in issue.header:
        header = f"{status_emoji(issue)} {header}"
    alerts = "1 alert" if issue.alert_count == 1 else f"{issue.alert_count} alerts"
    return f"{escaped(header)} ({issue.status}, {alerts})"
