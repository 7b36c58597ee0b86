"""What people do to an issue (acknowledge, resolve by hand, mute, …) and what the presenter
reports back (the Slack message it posted): the events, and the rules that admit them.

`act_on` is the one command: it checks the rule for the interaction's kind (raising a named
domain error the fold turns into "ignored") and triggers the matching event, which records
who acted. An interaction already folded (Slack retries an envelope it thinks was lost) is
recognised by its id among the issue's recent ones and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.interactions import Interaction, InteractionKind
from domain.severity import Severity

if TYPE_CHECKING:
    from domain.issue import Issue

# How many interaction ids an issue remembers to recognise a retried delivery.
RECENT_INTERACTIONS = 32


class AlreadyFolded(DomainError):
    """The same interaction (same id) was folded into this issue before."""


class NothingToChange(DomainError):
    """The interaction asks for what is already so (acknowledging an acknowledged issue)."""


class _Act(Aggregate.Event):
    """An act by someone (`actor`: kind, id, name), remembered by its interaction id."""

    actor: dict[str, Any]
    interaction_id: str

    def apply(self, aggregate: Aggregate) -> None:
        state = cast("Issue", aggregate).state
        recent = (*state.recent_interactions, self.interaction_id)
        state.recent_interactions = recent[-RECENT_INTERACTIONS:]
        self.change(state)

    def change(self, state: Issue.State) -> None:
        raise NotImplementedError


class SlackMessagePosted(_Act):
    slack_ts: str

    def change(self, state: Issue.State) -> None:
        state.slack_ts = self.slack_ts


class IssueAcknowledged(_Act):
    def change(self, state: Issue.State) -> None:
        state.acknowledged_by = self.actor
        state.acknowledged_at = self.timestamp


class IssueUnacknowledged(_Act):
    def change(self, state: Issue.State) -> None:
        state.acknowledged_by = None
        state.acknowledged_at = None


class IssueResolvedByHand(_Act):
    def change(self, state: Issue.State) -> None:
        state.status = "resolved"
        state.severity = Severity.RESOLVED
        state.resolved_at = self.timestamp
        state.resolution = "manual"
        state.resolved_by = self.actor
        state.held_until = None


class IssueUnresolved(_Act):
    severity: str

    def change(self, state: Issue.State) -> None:
        state.status = "open"
        state.severity = Severity(self.severity)
        state.resolved_at = None
        state.resolution = None
        state.resolved_by = None


class InvestigationStarted(_Act):
    def change(self, state: Issue.State) -> None:
        state.investigated_by = self.actor


class InvestigationStopped(_Act):
    def change(self, state: Issue.State) -> None:
        state.investigated_by = None


class IssueMuted(_Act):
    def change(self, state: Issue.State) -> None:
        state.muted_by = self.actor


class IssueUnmuted(_Act):
    def change(self, state: Issue.State) -> None:
        state.muted_by = None


class IssueTerminated(_Act):
    """Deleted from Slack and archived at once; a later alert opens a new issue."""

    def change(self, state: Issue.State) -> None:
        state.status = "archived"
        state.archived_at = self.timestamp
        state.held_until = None


class IssueMoved(_Act):
    """Moved to another channel: from here on the issue lives (and is shown) there.

    The issue arrives in `to_channel_id` as a separate input on that channel's partition
    (`IssueArrived`); the old channel keeps a move mapping so later alerts follow.
    """

    from_channel_id: str
    to_channel_id: str
    from_slack_ts: str | None
    reason: str

    def change(self, state: Issue.State) -> None:
        state.channel_id = self.to_channel_id
        state.slack_ts = None


def move_by_escalation(issue: Issue, channel_id: str, *, level: int, at: datetime) -> None:
    """An escalation point's `moveToChannel`: alertfold itself moves the issue."""
    issue.trigger_event(
        IssueMoved,
        timestamp=at,
        actor={"kind": "alertfold", "id": "escalation", "name": "escalation"},
        interaction_id=f"escalation/{level}",
        **_move_fields(issue, channel_id, f"escalation point {level}"),
    )


class WebhookCalled(_Act):
    """One of the alert's webhook buttons was pressed: which, and how the call went
    (`webhook`: webhook_id, ok, status_code, error; never the sealed URL or payload)."""

    webhook: dict[str, Any]

    def change(self, state: Issue.State) -> None:
        pass  # a record of the call; the issue's own state is unchanged


def act_on(issue: Issue, interaction: Interaction, *, at: datetime) -> None:
    """Apply one interaction to the issue, or raise why it changes nothing."""
    if interaction.interaction_id in issue.state.recent_interactions:
        raise AlreadyFolded(f"interaction {interaction.interaction_id} was folded already")
    kind = interaction.kind
    event, extra = _RULES[kind](issue, interaction)
    issue.trigger_event(
        event,
        timestamp=at,
        actor=interaction.actor.model_dump(),
        interaction_id=interaction.interaction_id,
        **extra,
    )


Checked = tuple[type[_Act], dict[str, Any]]


def _posted(issue: Issue, interaction: Interaction) -> Checked:
    if not interaction.slack_ts:
        raise NothingToChange("a posted message needs its slack_ts")
    if interaction.slack_ts == issue.state.slack_ts:
        raise NothingToChange(f"issue {issue.id} already has message {issue.state.slack_ts}")
    return SlackMessagePosted, {"slack_ts": interaction.slack_ts}


def _acknowledge(issue: Issue, _: Interaction) -> Checked:
    issue.check_open()
    _check(issue.state.acknowledged_by is None, f"issue {issue.id} is acknowledged already")
    return IssueAcknowledged, {}


def _unacknowledge(issue: Issue, _: Interaction) -> Checked:
    _check(issue.state.acknowledged_by is not None, f"issue {issue.id} is not acknowledged")
    return IssueUnacknowledged, {}


def _resolve(issue: Issue, _: Interaction) -> Checked:
    issue.check_open()
    return IssueResolvedByHand, {}


def _unresolve(issue: Issue, _: Interaction) -> Checked:
    issue.check_resolved()
    return IssueUnresolved, {"severity": issue.last_alert_severity.value}


def _investigate(issue: Issue, _: Interaction) -> Checked:
    issue.check_not_archived()
    _check(issue.state.investigated_by is None, f"issue {issue.id} is investigated already")
    return InvestigationStarted, {}


def _stop_investigating(issue: Issue, _: Interaction) -> Checked:
    _check(issue.state.investigated_by is not None, f"issue {issue.id} is not being investigated")
    return InvestigationStopped, {}


def _mute(issue: Issue, _: Interaction) -> Checked:
    issue.check_not_archived()
    _check(issue.state.muted_by is None, f"issue {issue.id} is muted already")
    return IssueMuted, {}


def _unmute(issue: Issue, _: Interaction) -> Checked:
    _check(issue.state.muted_by is not None, f"issue {issue.id} is not muted")
    return IssueUnmuted, {}


def _terminate(issue: Issue, _: Interaction) -> Checked:
    issue.check_not_archived()
    return IssueTerminated, {}


def _move(issue: Issue, interaction: Interaction) -> Checked:
    issue.check_not_archived()
    target = interaction.target_channel_id
    if not target:
        raise NothingToChange("a move needs a target_channel_id")
    return IssueMoved, _move_fields(issue, target, interaction.reason)


def _move_fields(issue: Issue, target: str, reason: str) -> dict[str, Any]:
    _check(target != issue.channel_id, f"issue {issue.id} is in {target} already")
    return {
        "from_channel_id": issue.channel_id,
        "to_channel_id": target,
        "from_slack_ts": issue.state.slack_ts,
        "reason": reason,
    }


def _webhook_called(issue: Issue, interaction: Interaction) -> Checked:
    issue.check_not_archived()
    if interaction.webhook is None:
        raise NothingToChange("a webhook call needs its result (webhook)")
    return WebhookCalled, {"webhook": interaction.webhook.model_dump()}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise NothingToChange(message)


_RULES = {
    InteractionKind.MESSAGE_POSTED: _posted,
    InteractionKind.ACKNOWLEDGED: _acknowledge,
    InteractionKind.UNACKNOWLEDGED: _unacknowledge,
    InteractionKind.RESOLVED: _resolve,
    InteractionKind.UNRESOLVED: _unresolve,
    InteractionKind.INVESTIGATING: _investigate,
    InteractionKind.NOT_INVESTIGATING: _stop_investigating,
    InteractionKind.MUTED: _mute,
    InteractionKind.UNMUTED: _unmute,
    InteractionKind.TERMINATED: _terminate,
    InteractionKind.WEBHOOK_CALLED: _webhook_called,
    InteractionKind.MOVED: _move,
}
