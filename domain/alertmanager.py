"""Alertmanager alerts read as alerts, the way Slack Manager reads them.

Prometheus rules cannot send alertfold's JSON, so everything an alert needs is taken from the
alert's annotations and labels. Keys are compared lower-cased, and for each key an annotation
wins over a label (annotations are where rule authors put presentation; labels identify the
series). Several spellings are accepted per setting because Slack Manager accepted them and
existing rules use them.

As in Slack Manager, numeric settings and the severity fall back to defaults when missing or
unusable, so a sloppy rule still pages someone. Values the alert itself would reject (an emoji,
a channel, a link annotation) reject that alert, naming its index so the rule author knows
which rule to fix; the other alerts it came with are read all the same. The webhook around
the alerts is read by `domain.alertmanager_webhook`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.alert import Alert, problems_from
from domain.alert_limits import MIN_AUTO_RESOLVE_SECONDS
from domain.alert_text import is_slack_link, json_type_name, parse_rfc3339, slack_manager_hash
from domain.errors import FieldProblem, problem
from domain.member_alerts import label_fingerprint
from domain.severity import SEVERITY_ALIASES, Severity

DEFAULT_HEADER = "Prometheus alert"
DEFAULT_AUTO_RESOLVE_SECONDS = 3600
DEFAULT_ARCHIVING_DELAY_SECONDS = 6 * 3600
STATUS_PLACEHOLDER = ":status:"

CORRELATION_ID_KEYS = ("correlationid", "correlation_id")
TYPE_KEYS = ("alerttype", "alert_type", "type")
HEADER_KEYS = ("header", "title", "summary")
TEXT_KEYS = ("text", "description", "body")
SEVERITY_KEYS = ("severity", "level")
CHANNEL_KEYS = (
    "slackchannelid",
    "channel",
    "slackchannel",
    "channelid",
    "slack_channel_id",
    "slack_channel",
    "channel_id",
)
ROUTE_KEY_KEYS = ("routekey", "route", "route_key")
ICON_KEYS = ("iconemoji", "icon")
ARCHIVING_DELAY_KEYS = ("archivingdelayseconds", "deletiondelayseconds")

# Go's zero time: what Alertmanager (and Go) write for "not set", e.g. endsAt of a firing alert.
GO_ZERO_TIME = "0001-01-01T00:00:00Z"
_INTEGER = re.compile(r"^[+-]?\d+$")
_RFC3339_PARTS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})$"
)


def drop_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if value is not None}
    return data


def object_required(what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "object_expected", f"must be {what}, got {json_type_name(value)}"
            )
        return value

    return BeforeValidator(check)


def _rfc3339_or_empty(value: str) -> str:
    if value:
        try:
            parse_rfc3339(value)
        except ValueError as exc:
            raise PydanticCustomError("timestamp_invalid", str(exc)) from None
    return value


class AlertmanagerAlert(BaseModel):
    # Values are kept as sent: Slack Manager hashes label values untrimmed into correlation ids.
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    starts_at: str = Field("", alias="startsAt")
    ends_at: str = Field("", alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = ""

    @field_validator("starts_at", "ends_at", mode="after")
    @classmethod
    def _check_time(cls, value: str) -> str:
        return _rfc3339_or_empty(value)


@dataclass(frozen=True)
class ReadAlert:
    """An Alertmanager alert that reads as an alert: its place in the list, as sent, and read."""

    index: int
    sent: Any
    alert: Alert


@dataclass(frozen=True)
class RejectedAlert:
    """An Alertmanager alert that cannot be taken: its place, as sent, and why not."""

    index: int
    sent: Any
    problems: list[FieldProblem]


@dataclass(frozen=True)
class AlertmanagerBatch:
    """What a list of Alertmanager alerts brings: the ones that read, and the others."""

    alerts: list[ReadAlert]
    rejected: list[RejectedAlert]
    group_key: str = ""
    truncated_alerts: int = 0


def read_alertmanager_alerts(
    items: list[Any], path_channel: str | None, *, group_key: str = "", truncated_alerts: int = 0
) -> AlertmanagerBatch:
    """Alertmanager alerts (a webhook's `alerts`, one dict each) read one by one; `group_key`
    and `truncated_alerts` are the webhook's, when they came in one."""
    alerts: list[ReadAlert] = []
    rejected: list[RejectedAlert] = []
    for index, sent in enumerate(items):
        try:
            item = ALERTMANAGER_ALERT.validate_python(sent)
            body = _alert_json(item, path_channel, group_key, truncated_alerts)
            alerts.append(ReadAlert(index, sent, Alert.model_validate(body)))
        except ValidationError as exc:
            found = problems_from(exc, wire_name=wire_name)
            problems = [problem(_at(index, p["field"]), p["message"]) for p in found]
            rejected.append(RejectedAlert(index, sent, problems))
    return AlertmanagerBatch(alerts, rejected, group_key, truncated_alerts)


ALERTMANAGER_ALERT: TypeAdapter[AlertmanagerAlert] = TypeAdapter(
    Annotated[
        AlertmanagerAlert,
        BeforeValidator(drop_nulls),
        object_required("an object (one Alertmanager alert)"),
    ]
)
_WIRE_NAMES = {
    "group_key": "groupKey",
    "starts_at": "startsAt",
    "ends_at": "endsAt",
    "generator_url": "generatorURL",
    "truncated_alerts": "truncatedAlerts",
}


def _at(index: int, field: str) -> str:
    return f"alerts.{index}.{field}" if field else f"alerts.{index}"


def wire_name(part: str) -> str:
    return _WIRE_NAMES.get(part, part)


def _alert_json(
    item: AlertmanagerAlert, path_channel: str | None, group_key: str, truncated_alerts: int
) -> dict[str, Any]:
    annotations = _lower_keys(item.annotations)
    labels = _lower_keys(item.labels)

    def find(*keys: str) -> str:
        for key in keys:
            if key in annotations:
                return annotations[key].strip()
            if key in labels:
                return labels[key].strip()
        return ""

    resolved = item.status.strip().lower() == "resolved"
    header = find(*HEADER_KEYS) or DEFAULT_HEADER
    text = find(*TEXT_KEYS)
    fallback_text = find("fallbacktext") or header
    if STATUS_PLACEHOLDER not in header and STATUS_PLACEHOLDER not in text:
        header = f"{STATUS_PLACEHOLDER} {header}"

    auto_resolve = _integer(find("autoresolveseconds"))
    if auto_resolve is None or auto_resolve < MIN_AUTO_RESOLVE_SECONDS:
        auto_resolve = DEFAULT_AUTO_RESOLVE_SECONDS
    notification_delay = _integer(find("notificationdelayseconds"))
    if notification_delay is None or not 0 <= notification_delay <= auto_resolve:
        notification_delay = 0
    archiving_delay = _integer(find(*ARCHIVING_DELAY_KEYS))
    if archiving_delay is None or archiving_delay < 0:
        archiving_delay = DEFAULT_ARCHIVING_DELAY_SECONDS

    correlation_id = (
        find(*CORRELATION_ID_KEYS)
        or correlation_id_from_labels(labels)
        or f"{slack_manager_hash(group_key)}-{go_rfc3339_nano(item.starts_at)}"
    )
    ignore = find("ignoreiftextcontains")

    return {
        "timestamp": _timestamp(item, resolved),
        "correlationId": correlation_id,
        "type": find(*TYPE_KEYS),
        "header": header,
        "text": text,
        "fallbackText": fallback_text,
        "author": find("author"),
        "host": find("host"),
        "footer": find("footer"),
        "link": find("link") or _usable_link(item.generator_url.strip()),
        "issueFollowUpEnabled": _flag(find("issuefollowupenabled"), default=True),
        "autoResolveSeconds": auto_resolve,
        "autoResolveAsInconclusive": _flag(find("autoresolveasinconclusive"), default=True),
        "severity": Severity.RESOLVED if resolved else _severity(find(*SEVERITY_KEYS)),
        "slackChannelId": find(*CHANNEL_KEYS) or (path_channel or "").strip(),
        "routeKey": find(*ROUTE_KEY_KEYS),
        "username": find("username"),
        "iconEmoji": find(*ICON_KEYS),
        "notificationDelaySeconds": notification_delay,
        "archivingDelaySeconds": archiving_delay,
        "ignoreIfTextContains": [ignore] if ignore else [],
        "failOnRateLimitError": _flag(find("failonratelimiterror"), default=False),
        "metadata": {
            "status": item.status,
            "labels": dict(item.labels),
            "annotations": dict(item.annotations),
            "startsAt": item.starts_at or GO_ZERO_TIME,
            "endsAt": item.ends_at or GO_ZERO_TIME,
            "groupKey": group_key,
            "fingerprint": item.fingerprint or label_fingerprint(item.labels),
            "generatorURL": item.generator_url,
            **({"truncatedAlerts": truncated_alerts} if truncated_alerts else {}),
        },
    }


def correlation_id_from_labels(labels: dict[str, str]) -> str:
    """Slack Manager's grouping key for Prometheus alerts: the labels naming the failing thing.

    `instance` only counts in the `monitoring` namespace, where the monitored targets are the
    monitoring components themselves. Expects lower-cased keys; "" when none of them is set.
    """
    values: list[str] = []
    for key in ("namespace", "alertname", "job", "service", "destination_service_name"):
        if key in labels:
            values.append(f"{key}::{labels[key]}")
    if labels.get("namespace") == "monitoring" and "instance" in labels:
        values.append(f"instance::{labels['instance']}")
    return slack_manager_hash(*values) if values else ""


def go_rfc3339_nano(value: str) -> str:
    """`value` as Go's `time.Format(time.RFC3339Nano)` prints it after parsing it.

    Slack Manager puts that text into fallback correlation ids; printing it the same way keeps
    those ids stable across the migration. Go drops trailing zeros of the fraction and writes
    a zero offset as Z.
    """
    match = _RFC3339_PARTS.match(value.strip()) if value else None
    if match is None:
        return GO_ZERO_TIME
    fraction = (match["fraction"] or "")[:9].rstrip("0")
    offset = match["offset"].upper()
    if offset in ("+00:00", "-00:00"):
        offset = "Z"
    return f"{match['date']}T{match['time']}{'.' + fraction if fraction else ''}{offset}"


def _lower_keys(values: dict[str, str]) -> dict[str, str]:
    """Keys lower-cased; a key already written in lower case wins over other spellings."""
    result = {key: value for key, value in values.items() if key == key.lower()}
    for key, value in values.items():
        result.setdefault(key.lower(), value)
    return result


def _timestamp(item: AlertmanagerAlert, resolved: bool) -> str | None:
    for raw in (item.ends_at, item.starts_at) if resolved else (item.starts_at,):
        if raw and parse_rfc3339(raw).year > 1:
            return raw
    return None


def _usable_link(url: str) -> str:
    """generatorURL is only a fallback link, so one the alert would reject is left out."""
    return url if is_slack_link(url) else ""


def _integer(value: str) -> int | None:
    return int(value) if _INTEGER.match(value) else None


def _flag(value: str, *, default: bool) -> bool:
    return (value.lower() or ("true" if default else "false")) == "true"


def _severity(value: str) -> Severity:
    found = SEVERITY_ALIASES.get(value.lower())
    return Severity.ERROR if found is None else found
