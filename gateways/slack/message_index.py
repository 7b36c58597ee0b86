"""Which Slack message shows which issue, as far as this presenter knows.

A message's ts comes from three places, in this order: what this process posted or adopted
in the channel, the issue's snapshot (`slack_ts`, once the fold records the `message_posted`
interaction), and the channel's recent history, searched by message metadata. The history
search is what makes a restart safe: a presenter killed after Slack accepted a post but
before anything recorded the ts finds the message and adopts it instead of posting a second
one.

The search covers the channel's newest `scan_limit` messages (1,000 by default, five pages
of 200), once per channel per process, and again after a post whose outcome is unknown. An
issue whose message has scrolled further back than that is posted again.

Everything is kept per (channel, issue): a moved issue's old message must be found in the
old channel to be deleted, and must never be taken for its message in the new channel.
A message kept for its thread but marked as left behind counts as gone, like a deleted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.issue_state import IssueSnapshot
from gateways.slack.blocks import RenderedMessage

DEFAULT_SCAN_LIMIT = 1000


# A message is named by its channel and the issue it shows: a moved issue has had one in each.
Key = tuple[str, str]  # (channel id, issue id)


@dataclass
class MessageIndex:
    scan_limit: int = DEFAULT_SCAN_LIMIT
    ts: dict[Key, str] = field(default_factory=dict)
    # What each message was last set to, to skip updates that change nothing, and the state
    # it showed, to tell a state change from a count-only update.
    shown: dict[Key, RenderedMessage] = field(default_factory=dict)
    states: dict[Key, tuple[object, ...]] = field(default_factory=dict)
    # Messages posted or adopted whose ts is not yet on the `interactions` topic.
    unannounced: dict[Key, str] = field(default_factory=dict)
    _found: dict[str, dict[str, str]] = field(default_factory=dict)
    _deleted: set[Key] = field(default_factory=set)  # (channel id, ts)

    def known_ts(self, issue: IssueSnapshot) -> str | None:
        """The issue's message in the channel its snapshot names, if known without a search."""
        channel = issue.channel_id
        recorded = getattr(issue, "slack_ts", None)
        if not isinstance(recorded, str) or (channel, recorded) in self._deleted:
            recorded = None
        return self.ts.get((channel, issue.id)) or recorded

    def scanned(self, channel: str) -> bool:
        return channel in self._found

    def record_scan(self, channel: str, found: dict[str, str]) -> None:
        self._found[channel] = {
            issue_id: ts for issue_id, ts in found.items() if (channel, ts) not in self._deleted
        }

    def forget_scan(self, channel: str) -> None:
        """The channel may hold a message this process does not know about: search again."""
        self._found.pop(channel, None)

    def adopt(self, channel: str, issue_id: str) -> str | None:
        """The ts of the issue's message found in the channel's history, now known."""
        ts = self._found.get(channel, {}).pop(issue_id, None)
        if ts is not None:
            self.posted(channel, issue_id, ts)
            self.shown.pop((channel, issue_id), None)
            self.states.pop((channel, issue_id), None)
        return ts

    def posted(self, channel: str, issue_id: str, ts: str) -> None:
        self.ts[(channel, issue_id)] = ts
        self.unannounced[(channel, issue_id)] = ts

    def gone(self, channel: str, issue_id: str, ts: str) -> None:
        """The message was deleted in Slack: the next show in that channel posts a new one."""
        self._deleted.add((channel, ts))
        key = (channel, issue_id)
        if self.ts.get(key) == ts:
            del self.ts[key]
            self.shown.pop(key, None)
            self.states.pop(key, None)
        if self.unannounced.get(key) == ts:
            del self.unannounced[key]

    def forget_channel(self, channel: str) -> set[str]:
        """Another presenter showed the channel meanwhile: what was known of it may be stale.

        Returns the issues whose message was known there; the next show searches again.
        """
        self.forget_scan(channel)
        known: set[str] = set()
        for table in (self.ts, self.shown, self.states, self.unannounced):
            for key in [key for key in table if key[0] == channel]:
                known.add(key[1])
                del table[key]
        return known

    def forget(self, channel: str, issue_id: str) -> None:
        """The issue is finished in the channel: nothing about its message is needed any more."""
        key = (channel, issue_id)
        self.ts.pop(key, None)
        self.shown.pop(key, None)
        self.states.pop(key, None)
        self.unannounced.pop(key, None)
