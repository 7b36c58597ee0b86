"""What people do to an issue (acknowledge, resolve by hand, mute, …) and what the presenter
reports back (the Slack message it posted): the events, and the rules that admit them.

`IssueActs` is mixed into `Issue` (`domain.issue`), so the acts are the aggregate's own:
`issue.act(interaction, at=…)` is the one command for interactions. It checks the rule for
the interaction's kind (raising a named domain error the fold turns into "ignored") and
triggers the matching event, which records who acted. An interaction already folded (Slack
retries an envelope it thinks was lost) is recognised by its id among the issue's recent ones
and changes nothing. `issue.move_by_escalation(…)` is the same move, decided by alertfold.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.interactions import Interaction, InteractionKind
from domain.issue_reminders import restart_reminders
from domain.issue_state import IssueState
from domain.severity import Severity

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
        state = cast(IssueActs, aggregate).state
        recent = (*state.recent_interactions, self.interaction_id)
        state.recent_interactions = recent[-RECENT_INTERACTIONS:]
        self.change(state)

    def change(self, state: IssueState) -> None:
        raise NotImplementedError


class IssueActs:
    """The acts of `Issue`: their events, their rules, and the commands `act` and
    `move_by_escalation`."""

    if TYPE_CHECKING:  # what the acts take from `Issue`, into which they are mixed
        state: IssueState  # its `Issue.State`, which the events change in place

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

        def check_open(self) -> None: ...

        def check_resolved(self) -> None: ...

        def check_not_archived(self) -> None: ...

        @property
        @abstractmethod
        def last_alert_severity(self) -> Severity: ...

    class SlackMessagePosted(_Act):
        slack_ts: str

        def change(self, state: IssueState) -> None:
            state.slack_ts = self.slack_ts

    class IssueAcknowledged(_Act):
        def change(self, state: IssueState) -> None:
            state.acknowledged_by = self.actor
            state.acknowledged_at = self.timestamp

    class IssueUnacknowledged(_Act):
        def change(self, state: IssueState) -> None:
            state.acknowledged_by = None
            state.acknowledged_at = None
            restart_reminders(state, self.timestamp)

    class IssueResolvedByHand(_Act):
        def change(self, state: IssueState) -> None:
            state.status = "resolved"
            state.severity = Severity.RESOLVED
            state.resolved_at = self.timestamp
            state.resolution = "manual"
            state.resolved_by = self.actor
            state.held_until = None

    class IssueUnresolved(_Act):
        severity: str

        def change(self, state: IssueState) -> None:
            state.status = "open"
            state.severity = Severity(self.severity)
            state.resolved_at = None
            state.resolution = None
            state.resolved_by = None
            restart_reminders(state, self.timestamp)

    class InvestigationStarted(_Act):
        def change(self, state: IssueState) -> None:
            state.investigated_by = self.actor

    class InvestigationStopped(_Act):
        def change(self, state: IssueState) -> None:
            state.investigated_by = None

    class IssueMuted(_Act):
        def change(self, state: IssueState) -> None:
            state.muted_by = self.actor

    class IssueUnmuted(_Act):
        def change(self, state: IssueState) -> None:
            state.muted_by = None
            restart_reminders(state, self.timestamp)

    class IssueTerminated(_Act):
        """Deleted from Slack and archived at once; a later alert opens a new issue."""

        def change(self, state: IssueState) -> None:
            state.status = "archived"
            state.archived_at = self.timestamp
            state.held_until = None

    class IssueMoved(_Act):
        """Moved to another channel: from here on the issue lives (and is shown) there.

        The issue arrives in `to_channel_id` as a separate input on that channel's partition
        (`IssueArrived`, see `domain.issue_moves`); the old channel keeps a move mapping so
        later alerts follow.
        """

        from_channel_id: str
        to_channel_id: str
        from_slack_ts: str | None
        reason: str

        def change(self, state: IssueState) -> None:
            state.channel_id = self.to_channel_id
            state.slack_ts = None

    class WebhookCalled(_Act):
        """One of the alert's webhook buttons was pressed: which, and how the call went
        (`webhook`: webhook_id, ok, status_code, error; never the sealed URL or payload)."""

        webhook: dict[str, Any]

        def change(self, state: IssueState) -> None:
            pass  # a record of the call; the issue's own state is unchanged

    # Commands ---------------------------------------------------------------------------

    def act(self, interaction: Interaction, *, at: datetime) -> None:
        """Apply one interaction to the issue, or raise why it changes nothing."""
        if interaction.interaction_id in self.state.recent_interactions:
            raise AlreadyFolded(f"interaction {interaction.interaction_id} was folded already")
        event, extra = self._RULES[interaction.kind](self, interaction)
        self.trigger_event(
            event,
            timestamp=at,
            actor=interaction.actor.model_dump(),
            interaction_id=interaction.interaction_id,
            **extra,
        )

    def move_by_escalation(self, channel_id: str, *, level: int, at: datetime) -> None:
        """An escalation point's `moveToChannel`: alertfold itself moves the issue."""
        self.trigger_event(
            self.IssueMoved,
            timestamp=at,
            actor={"kind": "alertfold", "id": "escalation", "name": "escalation"},
            interaction_id=f"escalation/{level}",
            **self._move_fields(channel_id, f"escalation point {level}"),
        )

    # Rules: whether one kind of interaction may act (raising why not), and as which event

    def _may_post(self, interaction: Interaction) -> Checked:
        if not interaction.slack_ts:
            raise NothingToChange("a posted message needs its slack_ts")
        if interaction.slack_ts == self.state.slack_ts:
            raise NothingToChange(
                f"issue {self.state.id} already has message {self.state.slack_ts}"
            )
        return self.SlackMessagePosted, {"slack_ts": interaction.slack_ts}

    def _may_acknowledge(self, _: Interaction) -> Checked:
        self.check_open()
        _check(self.state.acknowledged_by is None, f"issue {self.state.id} is acknowledged already")
        return self.IssueAcknowledged, {}

    def _may_unacknowledge(self, _: Interaction) -> Checked:
        _check(self.state.acknowledged_by is not None, f"issue {self.state.id} is not acknowledged")
        return self.IssueUnacknowledged, {}

    def _may_resolve(self, _: Interaction) -> Checked:
        self.check_open()
        return self.IssueResolvedByHand, {}

    def _may_unresolve(self, _: Interaction) -> Checked:
        self.check_resolved()
        return self.IssueUnresolved, {"severity": self.last_alert_severity.value}

    def _may_investigate(self, _: Interaction) -> Checked:
        self.check_not_archived()
        _check(self.state.investigated_by is None, f"issue {self.state.id} is investigated already")
        return self.InvestigationStarted, {}

    def _may_stop_investigating(self, _: Interaction) -> Checked:
        _check(
            self.state.investigated_by is not None,
            f"issue {self.state.id} is not being investigated",
        )
        return self.InvestigationStopped, {}

    def _may_mute(self, _: Interaction) -> Checked:
        self.check_not_archived()
        _check(self.state.muted_by is None, f"issue {self.state.id} is muted already")
        return self.IssueMuted, {}

    def _may_unmute(self, _: Interaction) -> Checked:
        _check(self.state.muted_by is not None, f"issue {self.state.id} is not muted")
        return self.IssueUnmuted, {}

    def _may_terminate(self, _: Interaction) -> Checked:
        self.check_not_archived()
        return self.IssueTerminated, {}

    def _may_move(self, interaction: Interaction) -> Checked:
        self.check_not_archived()
        target = interaction.target_channel_id
        if not target:
            raise NothingToChange("a move needs a target_channel_id")
        return self.IssueMoved, self._move_fields(target, interaction.reason)

    def _may_call_webhook(self, interaction: Interaction) -> Checked:
        self.check_not_archived()
        if interaction.webhook is None:
            raise NothingToChange("a webhook call needs its result (webhook)")
        return self.WebhookCalled, {"webhook": interaction.webhook.model_dump()}

    def _move_fields(self, target: str, reason: str) -> dict[str, Any]:
        _check(target != self.state.channel_id, f"issue {self.state.id} is in {target} already")
        return {
            "from_channel_id": self.state.channel_id,
            "to_channel_id": target,
            "from_slack_ts": self.state.slack_ts,
            "reason": reason,
        }

    _RULES: ClassVar[Mapping[InteractionKind, Rule]] = {
        InteractionKind.MESSAGE_POSTED: _may_post,
        InteractionKind.ACKNOWLEDGED: _may_acknowledge,
        InteractionKind.UNACKNOWLEDGED: _may_unacknowledge,
        InteractionKind.RESOLVED: _may_resolve,
        InteractionKind.UNRESOLVED: _may_unresolve,
        InteractionKind.INVESTIGATING: _may_investigate,
        InteractionKind.NOT_INVESTIGATING: _may_stop_investigating,
        InteractionKind.MUTED: _may_mute,
        InteractionKind.UNMUTED: _may_unmute,
        InteractionKind.TERMINATED: _may_terminate,
        InteractionKind.WEBHOOK_CALLED: _may_call_webhook,
        InteractionKind.MOVED: _may_move,
    }


Checked = tuple[type[_Act], dict[str, Any]]
Rule = Callable[[IssueActs, Interaction], Checked]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise NothingToChange(message)
