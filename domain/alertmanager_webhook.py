"""Alertmanager's webhook (version 4): the notification around a group's alerts.

Each alert in it is read on its own (`domain.alertmanager`), so one alert the mapping
rejects does not cost the others; only a payload that is not a version 4 webhook at all is
refused whole. `truncatedAlerts` travels with every alert of the webhook, so the issues of
the group can say that Alertmanager left some out.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from domain.alert import Alert, problems_from
from domain.alert_text import json_type_name
from domain.alertmanager import (
    AlertmanagerAlert,
    AlertmanagerBatch,
    drop_nulls,
    object_required,
    read_alertmanager_alerts,
    wire_name,
)
from domain.errors import AlertRejected, EmptyAlertmanagerPayload, problem

SUPPORTED_VERSION = "4"
_WHAT = "the Alertmanager webhook"


def _version(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError(
            "version_invalid", f"must be the string '4', got {json_type_name(value)}"
        )
    value = value.strip()
    if value and value != SUPPORTED_VERSION:
        raise PydanticCustomError(
            "version_unsupported",
            f"Alertmanager webhook version '{value}' is not supported; expected "
            f"'{SUPPORTED_VERSION}'",
        )
    return value


class AlertmanagerWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Annotated[str, BeforeValidator(_version)] = ""
    group_key: str = Field("", alias="groupKey")
    status: str = ""
    receiver: str = ""
    # Alerts Alertmanager left out of this notification (`max_alerts` of the receiver).
    truncated_alerts: int = Field(0, alias="truncatedAlerts", ge=0)
    alerts: list[
        Annotated[
            AlertmanagerAlert,
            BeforeValidator(drop_nulls),
            object_required("an object (one Alertmanager alert)"),
        ]
    ]


class _Envelope(AlertmanagerWebhook):
    """The webhook with its alerts unread: each is read on its own."""

    alerts: list[Any]


def read_alertmanager_webhook(
    payload: object, path_channel: str | None = None
) -> AlertmanagerBatch:
    """Read an Alertmanager webhook alert by alert, in the order Alertmanager listed them.

    `path_channel` is the channel named in the request path; an alert's own channel annotation
    or label wins over it. Raises `AlertRejected` for a payload that is not a version 4 webhook
    (nothing in it can be read), `EmptyAlertmanagerPayload` for one with no alerts; an invalid
    alert is one of the batch's `rejected`, its problems located under its index.
    """
    if not isinstance(payload, dict):
        raise AlertRejected.from_problems(
            [problem("", f"must be a JSON object, got {json_type_name(payload)}")], what=_WHAT
        )
    if payload.get("alerts") is None:
        raise AlertRejected.from_problems(
            [problem("alerts", "is required: a version 4 webhook lists its alerts here")],
            what=_WHAT,
        )
    try:
        webhook = _Envelope.model_validate(drop_nulls(payload))
    except ValidationError as exc:
        raise AlertRejected.from_problems(
            problems_from(exc, wire_name=wire_name), what=_WHAT
        ) from None
    if not webhook.alerts:
        raise EmptyAlertmanagerPayload()
    return read_alertmanager_alerts(
        webhook.alerts,
        path_channel,
        group_key=webhook.group_key,
        truncated_alerts=webhook.truncated_alerts,
    )


def alerts_from_alertmanager(payload: object, path_channel: str | None = None) -> list[Alert]:
    """The alerts of an Alertmanager webhook, or `AlertRejected` naming every problem of
    every invalid alert (see `read_alertmanager_webhook`)."""
    batch = read_alertmanager_webhook(payload, path_channel)
    if batch.rejected:
        problems = [p for rejected in batch.rejected for p in rejected.problems]
        raise AlertRejected.from_problems(problems, what=_WHAT)
    return [read.alert for read in batch.alerts]
