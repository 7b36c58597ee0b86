"""How every Slack Manager JSON object is read: the base of the alert models.

Clients were written against Slack Manager's Go decoder, so its leniency is part of the
contract; putting it in one base class keeps an alert and each object nested in it (fields,
escalation points, webhooks and their inputs) reading keys the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

from domain.alert_text import json_type_name
from domain.alert_validators import invalid

# Validation context for JSON alertfold wrote itself (`Alert.to_json_obj`): its keys are the
# canonical ones already, so reading them needs none of the leniency clients get.
CANONICAL = "canonical"


class SlackManagerShape(BaseModel):
    """Shared reading rules for the Slack Manager JSON shapes.

    Go's encoding/json, which Slack Manager clients were tested against, matches keys
    case-insensitively and treats `null` as "not sent"; both are honoured here so those
    clients keep working.
    """

    model_config = ConfigDict(
        frozen=True,
        populate_by_name=True,
        alias_generator=to_camel,
        serialize_by_alias=True,
        extra="ignore",
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, cls) or (info.context or {}).get(CANONICAL):
            return data
        if not isinstance(data, dict):
            raise invalid("object_expected", f"must be a JSON object, got {json_type_name(data)}")
        known, by_lower = _wire_keys(cls)
        result: dict[str, Any] = {}
        for key, value in data.items():
            if value is not None and key in known:
                result[key] = value
        taken = {known[key] for key in result}
        for key, value in data.items():
            if value is None or not isinstance(key, str) or key in known:
                continue
            target = by_lower.get(key.lower())
            if target is not None and known[target] not in taken:
                result[target] = value
                taken.add(known[target])
        return result


@cache
def _wire_keys(model: type[BaseModel]) -> tuple[dict[str, str], dict[str, str]]:
    """Accepted keys mapped to their field name, and the same keys by lower-cased spelling."""
    known: dict[str, str] = {}
    for name, info in model.model_fields.items():
        known[name] = name
        known[info.alias or name] = name
    return known, {key.lower(): key for key in known}
