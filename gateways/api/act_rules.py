"""Acting on an issue over HTTP: which acts there are, whether one applies, and its input.

An act becomes the same input Slack would write: an `Interaction` on `interactions` (keyed
by the issue's channel, so the channel's actor folds it in order), or, for a silence, a
`Silence` matching the issue's channel and correlation id, as Slack's silence menu sets. The
fold decides for real (`domain.issue_acts`); the checks here read the lookup view and refuse
at once, with the fold's reason, what it would refuse, so a person is told instead of
seeing nothing happen. Operators are admins in Slack's permission model: an operator key is
given to people trusted with every act.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.interactions import Actor, Interaction, InteractionKind
from domain.silences import MAX_SILENCE_DAYS, Matcher, Silence
from gateways.api.auth import Operator
from gateways.slack.move_modal import REASON_MAX, move_refusal

Issue = dict[str, Any]
COMMENT_MAX = 3000
WEB_SILENCE_COMMENT = "silenced over HTTP"


class Act(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    SILENCE = "silence"
    MOVE = "move"


# The interaction each act (but silencing, which sets a silence) puts on `interactions`.
INTERACTION_KINDS: dict[Act, InteractionKind] = {
    Act.ACKNOWLEDGE: InteractionKind.ACKNOWLEDGED,
    Act.UNACKNOWLEDGE: InteractionKind.UNACKNOWLEDGED,
    Act.RESOLVE: InteractionKind.RESOLVED,
    Act.REOPEN: InteractionKind.UNRESOLVED,
    Act.MOVE: InteractionKind.MOVED,
}


class SilenceBody(BaseModel):
    """How long: `duration_seconds` from now, or until `ends_at`; and why."""

    model_config = ConfigDict(extra="forbid")

    duration_seconds: Annotated[int, Field(gt=0, le=MAX_SILENCE_DAYS * 86_400)] | None = None
    ends_at: AwareDatetime | None = None
    comment: Annotated[str, Field(max_length=COMMENT_MAX)] = ""

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.duration_seconds is None) == (self.ends_at is None):
            raise ValueError("give exactly one of duration_seconds and ends_at")
        return self

    def ends(self, now: datetime) -> datetime:
        if self.ends_at is not None:
            return self.ends_at
        return now + timedelta(seconds=self.duration_seconds or 0)


class MoveBody(BaseModel):
    """Where to (a Slack channel id) and why."""

    model_config = ConfigDict(extra="forbid")

    channel_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,80}$")]
    reason: Annotated[str, Field(max_length=REASON_MAX)] = ""


def why_not(act: Act, issue: Issue, *, target: str | None = None) -> str:
    """Why the fold would refuse the act on the issue as the view shows it ("" if it would not)."""
    issue_id = issue["id"]
    status = issue.get("status")
    if status == "archived":
        return f"issue {issue_id} is archived; archived issues do not change"
    acknowledged = issue.get("acknowledged_by")
    if act is Act.ACKNOWLEDGE and status != "open":
        return f"issue {issue_id} is {status}; only open issues are acknowledged"
    if act is Act.ACKNOWLEDGE and acknowledged:
        return f"issue {issue_id} is acknowledged already, by {actor_name(acknowledged)}"
    if act is Act.UNACKNOWLEDGE and not acknowledged:
        return f"issue {issue_id} is not acknowledged"
    if act is Act.RESOLVE and status != "open":
        return f"issue {issue_id} is {status} already"
    if act is Act.REOPEN and status != "resolved":
        return f"issue {issue_id} is not resolved"
    if act is Act.MOVE:
        if target == issue.get("channel_id"):
            return f"issue {issue_id} is in {target} already"
        return move_refusal(issue)
    return ""


def actor(operator: Operator) -> Actor:
    return Actor(kind="api", id=operator.actor_id, name=operator.actor_id)


def interaction(
    act: Act,
    issue: Issue,
    operator: Operator,
    *,
    interaction_id: str,
    at: datetime,
    move: MoveBody | None = None,
) -> Interaction:
    return Interaction(
        interaction_id=interaction_id,
        kind=INTERACTION_KINDS[act],
        channel_id=issue["channel_id"],
        correlation_id=issue["correlation_id"],
        issue_id=issue["id"],
        at=at,
        actor=actor(operator),
        target_channel_id=move.channel_id.upper() if move else None,
        reason=move.reason if move else "",
    )


def issue_silence(
    issue: Issue, operator: Operator, body: SilenceBody, *, silence_id: str, now: datetime
) -> Silence:
    """A silence of this issue alone: its channel and correlation id, from now."""
    return Silence(
        id=silence_id,
        matchers=(
            Matcher(name="slackChannelId", value=str(issue["channel_id"])),
            Matcher(name="correlationId", value=str(issue["correlation_id"])),
        ),
        starts_at=now,
        ends_at=body.ends(now),
        created_by=operator.actor_id,
        comment=body.comment or WEB_SILENCE_COMMENT,
    )


def actor_name(actor: Any) -> str:
    """A recorded actor (`{kind, id, name}`) as people read it."""
    if isinstance(actor, dict):
        return str(actor.get("name") or actor.get("id") or "someone")
    return "someone"
