"""Which Slack message shows which issue, as far as this presenter knows.

A message's ts comes from three places, in this order: what this process posted or adopted,
the issue's snapshot (`slack_ts`, once the fold records the `message_posted` interaction),
and the channel's recent history, searched by message metadata. The history search is what
makes a restart safe: a presenter killed after Slack accepted a post but before anything
recorded the ts finds the message and adopts it instead of posting a second one.

The search covers the channel's newest `scan_limit` messages (1,000 by default, five pages
of 200), once per channel per process, and again after a post whose outcome is unknown. An
issue whose message has scrolled further back than that is posted again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.records import IssueSnapshot
from gateways.slack.blocks import RenderedMessage

DEFAULT_SCAN_LIMIT = 1000


@dataclass
class MessageIndex:
    scan_limit: int = DEFAULT_SCAN_LIMIT
    ts: dict[str, str] = field(default_factory=dict)
    # What each issue's message was last set to, to skip updates that change nothing.
    shown: dict[str, RenderedMessage] = field(default_factory=dict)
    # Messages posted or adopted whose ts is not yet on the `interactions` topic.
    unannounced: dict[str, str] = field(default_factory=dict)
    _found: dict[str, dict[str, str]] = field(default_factory=dict)
    _deleted: set[str] = field(default_factory=set)

    def known_ts(self, issue: IssueSnapshot) -> str | None:
        recorded = getattr(issue, "slack_ts", None)
        if not isinstance(recorded, str) or recorded in self._deleted:
            recorded = None
        return self.ts.get(issue.id) or recorded

    def scanned(self, channel: str) -> bool:
        return channel in self._found

    def record_scan(self, channel: str, found: dict[str, str]) -> None:
        self._found[channel] = found

    def forget_scan(self, channel: str) -> None:
        """The channel may hold a message this process does not know about: search again."""
        self._found.pop(channel, None)

    def adopt(self, channel: str, issue_id: str) -> str | None:
        """The ts of the issue's message found in the channel's history, now known."""
        ts = self._found.get(channel, {}).pop(issue_id, None)
        if ts is not None:
            self.posted(issue_id, ts)
            self.shown.pop(issue_id, None)
        return ts

    def posted(self, issue_id: str, ts: str) -> None:
        self.ts[issue_id] = ts
        self.unannounced[issue_id] = ts

    def gone(self, issue_id: str, ts: str) -> None:
        """The message was deleted in Slack: the next show posts a new one."""
        self._deleted.add(ts)
        self.ts.pop(issue_id, None)
        self.shown.pop(issue_id, None)

    def forget(self, issue_id: str) -> None:
        """The issue is finished (archived and shown): nothing about it is needed any more."""
        self.ts.pop(issue_id, None)
        self.shown.pop(issue_id, None)
        self.unannounced.pop(issue_id, None)
