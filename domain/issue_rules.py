"""The rules an `Issue`'s commands check before they decide anything: which states a command
applies to, and whether an alert is news to the issue. A command that does not apply raises
the named domain error the gateways turn into an answer (409, an ephemeral message)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.alert import Alert
from domain.errors import IssueAlreadyArchived, IssueNotOpen, IssueNotResolved
from domain.issue_state import IssueState, IssueStatus
from domain.member_alerts import MemberNews, MemberReport, news_of

if TYPE_CHECKING:
    from uuid import UUID


class IssueRules:
    if TYPE_CHECKING:  # what the rules read of `Issue`, into which they are mixed
        id: UUID
        state: IssueState

        @property
        def status(self) -> IssueStatus: ...

    def check_open(self) -> None:
        if self.status != "open":
            raise IssueNotOpen(f"issue {self.id} is {self.status}, not open")

    def check_resolved(self) -> None:
        if self.status != "resolved":
            raise IssueNotResolved(f"issue {self.id} is {self.status}, not resolved")

    def check_not_archived(self) -> None:
        if self.status == "archived":
            raise IssueAlreadyArchived(f"issue {self.id} is archived")

    def is_older_than_last_alert(self, alert: Alert) -> bool:
        """An alert stamped before the issue's latest one is stale news, already superseded.

        Member alerts are judged against their own member instead (`member_news`)."""
        return alert.timestamp is not None and alert.timestamp < self.state.last_alert_at

    def member_news(self, report: MemberReport, at: datetime) -> MemberNews:
        """What a member alert's report, received at `at`, tells this issue."""
        return news_of(self.state.members, report, at)
