"""Reading back an alert alertfold wrote itself, without validating it a second time.

The API validates and cleans every alert it accepts, then writes `Alert.to_json_obj()` inside
its envelope on `alerts`. Validating that JSON again in the fold (thirty field validators,
most of them Python) was a fifth of the fold's cost per alert, and could only ever confirm
what the API established. So the fold takes its own JSON as it is, after checking it has
exactly the shape `to_json_obj` writes: every key, every value of the JSON type written for
it. Anything else (another writer of the envelope, a format from another version) goes
through full validation, which refuses it with the precise reason rather than misread it.
Webhooks, rare and deeply nested, always take the validated path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from domain.alert import Alert, AlertField, EscalationPoint
from domain.severity import Severity
from domain.unvalidated import made_of

_Model = TypeVar("_Model", bound=BaseModel)
Reader = Callable[[object], Any]
# A model's wire keys, each with its field's name and the reader of its value.
Fields = dict[str, tuple[str, Reader]]


class _NotOwnJson(Exception):
    """The JSON is not exactly what `to_json_obj` writes."""


def read_own_alert(obj: object) -> Alert:
    """The alert `Alert.to_json_obj()` made `obj` from; `AlertRejected` if it is invalid."""
    try:
        alert = _built(Alert, obj, _ALERT)
    except _NotOwnJson:
        return Alert.from_json_obj(obj, canonical=True)
    if not alert.header and not alert.text:  # the one rule across fields
        return Alert.from_json_obj(obj, canonical=True)
    return alert


def _timestamp(value: object) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or not value.endswith("Z"):
        raise _NotOwnJson
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise _NotOwnJson from None


def _severity(value: object) -> Severity:
    if type(value) is not str:
        raise _NotOwnJson
    try:
        return Severity(value)
    except ValueError:
        raise _NotOwnJson from None


def _of(kind: type) -> Reader:
    def read(value: object) -> Any:
        if type(value) is not kind:
            raise _NotOwnJson
        return value

    return read


def _strings(value: object) -> tuple[str, ...]:
    if type(value) is not list or any(type(item) is not str for item in value):
        raise _NotOwnJson
    return tuple(value)


def _no_webhooks(value: object) -> tuple[()]:
    if value != []:
        raise _NotOwnJson
    return ()


def _objects(model: type[_Model], fields: Fields) -> Callable[[object], tuple[_Model, ...]]:
    def read(value: object) -> tuple[_Model, ...]:
        if type(value) is not list:
            raise _NotOwnJson
        return tuple(_built(model, item, fields) for item in value)

    return read


def _built(model: type[_Model], obj: object, fields: Fields) -> _Model:
    """`model` holding exactly `obj`'s values, read by `fields` (key → (field, reader))."""
    if type(obj) is not dict or len(obj) != len(fields):
        raise _NotOwnJson
    values: dict[str, Any] = {}
    for key, value in obj.items():
        found = fields.get(key)
        if found is None:
            raise _NotOwnJson
        name, read = found
        values[name] = read(value)
    return made_of(model, values)


def _fields(model: type[BaseModel], readers: dict[str, Reader]) -> Fields:
    """Each field's wire key, its name and its reader; every field must have one."""
    missing = set(model.model_fields) - set(readers)
    if missing:
        raise TypeError(f"{model.__name__}: no reader for {sorted(missing)}")
    return {
        (info.alias or name): (name, readers[name]) for name, info in model.model_fields.items()
    }


_TEXT, _FLAG, _NUMBER = _of(str), _of(bool), _of(int)

_FIELD = _fields(AlertField, {"title": _TEXT, "value": _TEXT})
_ESCALATION_POINT = _fields(
    EscalationPoint,
    {
        "severity": _severity,
        "delay_seconds": _NUMBER,
        "slack_mentions": _strings,
        "move_to_channel": _TEXT,
    },
)
_ALERT = _fields(
    Alert,
    {
        "timestamp": _timestamp,
        **dict.fromkeys(
            (
                "correlation_id",
                "type",
                "header",
                "header_when_resolved",
                "text",
                "text_when_resolved",
                "fallback_text",
                "author",
                "host",
                "footer",
                "link",
                "slack_channel_id",
                "route_key",
                "username",
                "icon_emoji",
            ),
            _TEXT,
        ),
        **dict.fromkeys(
            ("issue_follow_up_enabled", "auto_resolve_as_inconclusive", "fail_on_rate_limit_error"),
            _FLAG,
        ),
        **dict.fromkeys(
            ("auto_resolve_seconds", "notification_delay_seconds", "archiving_delay_seconds"),
            _NUMBER,
        ),
        "severity": _severity,
        "fields": _objects(AlertField, _FIELD),
        "escalation": _objects(EscalationPoint, _ESCALATION_POINT),
        "ignore_if_text_contains": _strings,
        "webhooks": _no_webhooks,
        "metadata": _of(dict),
    },
)
