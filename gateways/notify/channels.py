"""A notification channel: where notifications go (`target`) and which ones (`rule`).

Channels come from two places: the API (stored in the lookup database, editable) and the
file named by `ALERTFOLD_NOTIFICATION_CHANNELS_FILE` (read at start, read-only through the
API, so what is declared in deployment files is not changed behind their back).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gateways.notify.targets import Target
from projections.notification_routing import ChannelRoute, RoutingRule

ChannelSource = Literal["api", "file"]
CHANNEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ChannelSpec(BaseModel):
    """A channel as a client writes it (POST/PUT bodies, the channels file)."""

    # Errors must not echo the input: it holds the target's secrets.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    target: Target
    rule: RoutingRule = Field(default_factory=RoutingRule)


class NotificationChannel(ChannelSpec):
    """A configured channel, with its id and where it was declared."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    id: str = Field(pattern=CHANNEL_ID_PATTERN)
    source: ChannelSource = "api"

    @property
    def read_only(self) -> bool:
        return self.source == "file"

    @property
    def route(self) -> ChannelRoute:
        return ChannelRoute(self.id, self.target.kind, self.rule, self.enabled)


class ChannelsFileError(Exception):
    """The channels file cannot be used; the message names the file and the problem."""


def target_secrets(target: BaseModel) -> dict[str, Any]:
    """The target's secret fields (top-level `SecretStr`, or mappings of them), revealed."""
    secrets: dict[str, Any] = {}
    for name in type(target).model_fields:
        value = getattr(target, name)
        if isinstance(value, SecretStr):
            secrets[name] = value.get_secret_value()
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(item, SecretStr) for item in value.values())
        ):
            secrets[name] = {key: item.get_secret_value() for key, item in value.items()}
    return secrets


def target_public(target: BaseModel) -> dict[str, Any]:
    """The target as JSON without its secret fields."""
    hidden = target_secrets(target)
    return {k: v for k, v in target.model_dump(mode="json").items() if k not in hidden}


def masked_target(target: BaseModel) -> dict[str, Any]:
    """The target as the API shows it: every secret field is `"***"`."""
    shown = target.model_dump(mode="json")
    for name, value in target_secrets(target).items():
        shown[name] = {key: "***" for key in value} if isinstance(value, dict) else "***"
    return shown


def load_channels_file(
    path: Path, environ: Mapping[str, str] | None = None
) -> list[NotificationChannel]:
    """The channels declared in a JSON file: `{"channels": [{"id": …, …}, …]}` or a list.

    String values may name environment variables as `${NAME}`, so secrets stay out of the
    file; a reference to an unset variable is an error naming it.
    """
    environ = os.environ if environ is None else environ
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ChannelsFileError(f"notification channels file {path}: {exc}") from None
    items = document.get("channels") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ChannelsFileError(
            f"notification channels file {path}: expected a list of channels "
            'or {"channels": [...]}'
        )
    channels: list[NotificationChannel] = []
    for position, item in enumerate(items, start=1):
        try:
            resolved = _substitute(item, environ)
            if isinstance(resolved, dict):
                resolved = {**resolved, "source": "file"}
            channels.append(NotificationChannel.model_validate(resolved))
        except (ValidationError, KeyError) as exc:
            raise ChannelsFileError(
                f"notification channels file {path}, channel {position}: {_one_line(exc)}"
            ) from None
    ids = [channel.id for channel in channels]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ChannelsFileError(f"notification channels file {path}: duplicate ids {duplicates}")
    return channels


def _substitute(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise KeyError(f"environment variable {name} is referenced but not set")
            return environ[name]

        return _REFERENCE.sub(lookup, value)
    if isinstance(value, list):
        return [_substitute(item, environ) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, environ) for key, item in value.items()}
    return value


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return str(exc.args[0])
    return " ".join(str(exc).split())
