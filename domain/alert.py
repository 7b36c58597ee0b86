"""The alert: alertfold's input contract.

The JSON shape is Slack Manager's (same camelCase keys, same limits, same cleaning), so clients
written for Slack Manager post to alertfold unchanged. Cleaning happens during validation, which
makes an `Alert` instance the cleaned form: every later stage (routing, folding, presenting) can
rely on trimmed, truncated, normalised values without re-checking them.

This module is where the rest of alertfold imports the contract from. Its parts live beside it
so each can be read on its own: the limits (`alert_limits`), the text rules shared with the
Alertmanager mapping (`alert_text`), the field validators (`alert_validators`), the key-reading
rules (`alert_shape`) and webhooks (`alert_webhooks`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.alert_limits import (
    DEFAULT_AUTO_RESOLVE_SECONDS,
    MAX_AUTHOR_LENGTH,
    MAX_AUTO_RESOLVE_SECONDS,
    MAX_CORRELATION_ID_LENGTH,
    MAX_ESCALATION_COUNT,
    MAX_ESCALATION_SLACK_MENTION_COUNT,
    MAX_FIELD_COUNT,
    MAX_FIELD_TITLE_LENGTH,
    MAX_FIELD_VALUE_LENGTH,
    MAX_FOOTER_LENGTH,
    MAX_HOST_LENGTH,
    MAX_IGNORE_IF_TEXT_CONTAINS_COUNT,
    MAX_IGNORE_IF_TEXT_CONTAINS_LENGTH,
    MAX_MENTION_LENGTH,
    MAX_ROUTE_KEY_LENGTH,
    MAX_SLACK_CHANNEL_ID_LENGTH,
    MAX_TIMESTAMP_AGE,
    MAX_USERNAME_LENGTH,
    MAX_WEBHOOK_COUNT,
    MIN_AUTO_RESOLVE_SECONDS,
    MIN_ESCALATION_DELAY_DIFF_SECONDS,
    MIN_ESCALATION_DELAY_SECONDS,
    SLACK_CHANNEL_ID_OR_NAME,
    SLACK_MENTION,
)
from domain.alert_shape import CANONICAL, SlackManagerShape
from domain.alert_text import default_correlation_id, json_type_name, quoted, slack_manager_hash
from domain.alert_validators import (
    JSON_ARRAY,
    channel_id_or_name,
    clean_fallback_text,
    clean_header,
    clean_icon_emoji,
    clean_text,
    http_link,
    invalid,
    json_object,
    lower_case,
    max_chars,
    max_items,
    min_int,
    not_negative,
    read_escalation_severity,
    read_severity,
    rfc3339_timestamp,
    truncated,
)
from domain.alert_webhooks import (
    Webhook,
    WebhookAccessLevel,
    WebhookButtonStyle,
    WebhookCheckboxInput,
    WebhookCheckboxOption,
    WebhookDisplayMode,
    WebhookPlainTextInput,
)
from domain.errors import AlertRejected, FieldProblem, NoChannel, problem
from domain.severity import Severity

__all__ = [
    "Alert",
    "AlertField",
    "EscalationPoint",
    "Webhook",
    "WebhookAccessLevel",
    "WebhookButtonStyle",
    "WebhookDisplayMode",
    "problems_from",
    "slack_manager_hash",
]


class AlertField(SlackManagerShape):
    """A title/value pair, rendered two to a row under the alert text."""

    title: Annotated[str, truncated(MAX_FIELD_TITLE_LENGTH)] = ""
    value: Annotated[str, truncated(MAX_FIELD_VALUE_LENGTH)] = ""


class EscalationPoint(SlackManagerShape):
    """What happens to a still-open issue once it is `delay_seconds` old."""

    severity: Annotated[Severity, BeforeValidator(read_escalation_severity)]
    delay_seconds: Annotated[int, min_int(MIN_ESCALATION_DELAY_SECONDS)]
    slack_mentions: Annotated[
        tuple[str, ...], JSON_ARRAY, max_items(MAX_ESCALATION_SLACK_MENTION_COUNT)
    ] = ()
    move_to_channel: Annotated[str, AfterValidator(channel_id_or_name)] = ""

    @field_validator("slack_mentions", mode="after")
    @classmethod
    def _check_mentions(cls, mentions: tuple[str, ...]) -> tuple[str, ...]:
        for index, mention in enumerate(mentions):
            if not SLACK_MENTION.match(mention):
                raise invalid(
                    "mention_invalid",
                    f"{quoted(mention)} is not a Slack mention; expected <!here>, <!channel> or "
                    f"<@ID> (ID up to {MAX_MENTION_LENGTH} characters)",
                    at=str(index),
                )
        return mentions


class Alert(SlackManagerShape):
    """One alert as a client sent it, cleaned and validated (Slack Manager's alert JSON).

    Instances are immutable; the methods that complete an alert (`routed_to`, `stamped`)
    return copies, and take everything they depend on as arguments so the domain stays pure.
    """

    timestamp: Annotated[datetime | None, BeforeValidator(rfc3339_timestamp)] = None
    correlation_id: Annotated[str, max_chars(MAX_CORRELATION_ID_LENGTH)] = ""
    type: Annotated[str, AfterValidator(lower_case)] = ""
    header: Annotated[str, AfterValidator(clean_header)] = ""
    header_when_resolved: Annotated[str, AfterValidator(clean_header)] = ""
    text: Annotated[str, AfterValidator(clean_text)] = ""
    text_when_resolved: Annotated[str, AfterValidator(clean_text)] = ""
    fallback_text: Annotated[str, AfterValidator(clean_fallback_text)] = ""
    author: Annotated[str, truncated(MAX_AUTHOR_LENGTH)] = ""
    host: Annotated[str, truncated(MAX_HOST_LENGTH)] = ""
    footer: Annotated[str, truncated(MAX_FOOTER_LENGTH)] = ""
    link: Annotated[str, AfterValidator(http_link)] = ""
    issue_follow_up_enabled: bool = False
    auto_resolve_seconds: int = DEFAULT_AUTO_RESOLVE_SECONDS
    auto_resolve_as_inconclusive: bool = False
    severity: Annotated[Severity, BeforeValidator(read_severity)] = Severity.ERROR
    slack_channel_id: Annotated[str, AfterValidator(channel_id_or_name)] = ""
    route_key: Annotated[str, AfterValidator(lower_case), max_chars(MAX_ROUTE_KEY_LENGTH)] = ""
    username: Annotated[str, truncated(MAX_USERNAME_LENGTH)] = ""
    icon_emoji: Annotated[str, AfterValidator(clean_icon_emoji)] = ""
    fields: Annotated[tuple[AlertField, ...], JSON_ARRAY, max_items(MAX_FIELD_COUNT)] = ()
    notification_delay_seconds: Annotated[int, AfterValidator(not_negative)] = 0
    archiving_delay_seconds: Annotated[int, AfterValidator(not_negative)] = 0
    escalation: Annotated[tuple[EscalationPoint, ...], JSON_ARRAY] = ()
    ignore_if_text_contains: Annotated[
        tuple[Annotated[str, max_chars(MAX_IGNORE_IF_TEXT_CONTAINS_LENGTH)], ...],
        JSON_ARRAY,
        max_items(MAX_IGNORE_IF_TEXT_CONTAINS_COUNT),
    ] = ()
    fail_on_rate_limit_error: bool = False
    webhooks: Annotated[tuple[Webhook, ...], JSON_ARRAY] = ()
    metadata: Annotated[dict[str, Any], PlainValidator(json_object)] = Field(default_factory=dict)

    @field_validator("auto_resolve_seconds", mode="after")
    @classmethod
    def _check_auto_resolve(cls, seconds: int, info: ValidationInfo) -> int:
        in_range = MIN_AUTO_RESOLVE_SECONDS <= seconds <= MAX_AUTO_RESOLVE_SECONDS
        if in_range:
            return seconds
        if info.data.get("issue_follow_up_enabled"):
            raise invalid(
                "out_of_range",
                f"must be between {MIN_AUTO_RESOLVE_SECONDS} and {MAX_AUTO_RESOLVE_SECONDS} "
                f"seconds when issueFollowUpEnabled is true, got {seconds}",
            )
        # Without follow-up the value is never used; Slack Manager accepts anything then. Keeping
        # it in range means nothing downstream has to re-check it.
        return DEFAULT_AUTO_RESOLVE_SECONDS

    @field_validator("escalation", mode="after")
    @classmethod
    def _sort_escalation(cls, points: tuple[EscalationPoint, ...]) -> tuple[EscalationPoint, ...]:
        if len(points) > MAX_ESCALATION_COUNT:
            raise invalid(
                "too_many_items",
                f"must have at most {MAX_ESCALATION_COUNT} items, got {len(points)}",
            )
        ordered = sorted(enumerate(points), key=lambda pair: pair[1].delay_seconds)
        for (_, previous), (index, point) in pairwise(ordered):
            gap = point.delay_seconds - previous.delay_seconds
            if gap < MIN_ESCALATION_DELAY_DIFF_SECONDS:
                raise invalid(
                    "escalation_too_close",
                    f"must be at least {MIN_ESCALATION_DELAY_DIFF_SECONDS} seconds after the "
                    f"previous escalation point ({previous.delay_seconds}), got "
                    f"{point.delay_seconds}",
                    at=f"{index}.delaySeconds",
                )
        return tuple(point for _, point in ordered)

    @field_validator("webhooks", mode="after")
    @classmethod
    def _check_webhooks(cls, hooks: tuple[Webhook, ...]) -> tuple[Webhook, ...]:
        if len(hooks) > MAX_WEBHOOK_COUNT:
            raise invalid(
                "too_many_items", f"must have at most {MAX_WEBHOOK_COUNT} items, got {len(hooks)}"
            )
        seen: set[str] = set()
        for index, hook in enumerate(hooks):
            if hook.id in seen:
                raise invalid(
                    "duplicate_id",
                    f"{quoted(hook.id)} is used by an earlier webhook; webhook ids must be unique",
                    at=f"{index}.id",
                )
            seen.add(hook.id)
        return hooks

    @model_validator(mode="after")
    def _check_content(self) -> Self:
        if not self.header and not self.text:
            raise invalid("content_missing", "header and text cannot both be empty", at="header")
        return self

    # -- reading and writing -----------------------------------------------------------------

    @classmethod
    def from_json_obj(cls, obj: object, *, canonical: bool = False) -> Alert:
        """Read one alert from decoded JSON; every problem is reported at once.

        `canonical`: the JSON is alertfold's own (`to_json_obj`), whose keys need no reading
        leniently; its values are validated all the same.
        """
        if not isinstance(obj, dict):
            raise AlertRejected.single(
                "", f"an alert must be a JSON object, got {json_type_name(obj)}"
            )
        try:
            return cls.model_validate(obj, context={CANONICAL: True} if canonical else None)
        except ValidationError as exc:
            raise AlertRejected.from_problems(problems_from(exc)) from None

    def to_json_obj(self) -> dict[str, Any]:
        """The alert as Slack Manager JSON (camelCase keys, RFC 3339 timestamp)."""
        return self.model_dump(mode="json", by_alias=True)

    # -- completing an alert -----------------------------------------------------------------

    def routed_to(self, channel_id: str) -> Alert:
        """A copy bound to `channel_id`, with Slack Manager's default correlation id if unset."""
        channel = channel_id.strip().upper()
        if not channel:
            raise NoChannel("an alert cannot be routed to an empty channel id")
        if not SLACK_CHANNEL_ID_OR_NAME.match(channel):
            raise AlertRejected.single(
                "slackChannelId",
                f"{quoted(channel)} is not a Slack channel id or name: expected 1 to "
                f"{MAX_SLACK_CHANNEL_ID_LENGTH} letters, digits, '-' or '_'",
            )
        correlation_id = self.correlation_id or default_correlation_id(
            self.header, self.author, self.host, self.text, channel
        )
        return self.model_copy(
            update={"slack_channel_id": channel, "correlation_id": correlation_id}
        )

    def stamped(self, now: datetime) -> Alert:
        """A copy whose timestamp is `now` if it was missing, more than 7 days before `now`,
        or after `now`.

        Old timestamps are replaced rather than rejected because Slack Manager clients send
        Go's zero time when they leave the field unset. A timestamp in the future (a sender's
        clock ahead of ours) is clamped, or every alert stamped before it would be stale.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        timestamp = self.timestamp
        if timestamp is None or now - timestamp > MAX_TIMESTAMP_AGE or timestamp > now:
            timestamp = now
        return self.model_copy(update={"timestamp": timestamp.astimezone(UTC)})

    def is_ignored(self) -> bool:
        """Whether the text contains one of `ignoreIfTextContains` (ignoring case)."""
        if not self.text:
            return False
        text = self.text.lower()
        return any(term.lower() in text for term in self.ignore_if_text_contains if term)


_MODELS: tuple[type[BaseModel], ...] = (
    Alert,
    AlertField,
    EscalationPoint,
    Webhook,
    WebhookPlainTextInput,
    WebhookCheckboxInput,
    WebhookCheckboxOption,
)
_WIRE_NAMES: dict[str, str] = {
    name: info.alias or name for model in _MODELS for name, info in model.model_fields.items()
}


def problems_from(
    error: ValidationError, wire_name: Callable[[str], str] | None = None
) -> list[FieldProblem]:
    """Pydantic's errors as field problems located by dotted camelCase paths."""
    rename = wire_name or (lambda part: _WIRE_NAMES.get(part, part))
    problems: list[FieldProblem] = []
    for item in error.errors(include_url=False):
        parts = [rename(p) if isinstance(p, str) else str(p) for p in item["loc"]]
        at = (item.get("ctx") or {}).get("at")
        if at:
            parts.append(str(at))
        problems.append(problem(".".join(parts), item["msg"]))
    return problems
