"""Where settings come from, and a refusal that says where the bad one was set.

Precedence, highest first: explicit overrides (tests and the harness), environment variables,
the config file named by ALERTFOLD_CONFIG, the defaults. pydantic-settings reads the
environment (each field's variable is its alias); the layers are merged here rather than by
`BaseSettings.__init__`, so each value keeps its origin: a refusal names the variable, or the
file and line, and `alertfold config show` tells where every value was set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, EnvSettingsSource

from infra.config_file import ConfigFileSource
from infra.settings_fields import CONFIG_VARIABLE, Declared, SettingsError, declarations

Model = TypeVar("Model", bound=BaseSettings)


@dataclass(frozen=True)
class Origin:
    """Where a value was set: `default`, `environment`, `file` (then `where` is path:line) or
    `override` (a keyword of `load_settings`)."""

    kind: Literal["default", "environment", "file", "override"]
    where: str = ""

    def __str__(self) -> str:
        return self.where if self.kind == "file" else self.kind


DEFAULT = Origin("default")


@dataclass(frozen=True)
class Resolved(Generic[Model]):
    """Settings and, per field, where its value came from."""

    settings: Model
    origins: Mapping[str, Origin]

    def origin(self, field: str) -> Origin:
        return self.origins.get(field, DEFAULT)


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests pass their own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = environ
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._given.items() if value != ""}


def resolve(
    model: type[Model],
    environ: Mapping[str, str],
    overrides: Mapping[str, object],
    config_file: Path | None = None,
    *,
    use_environment: bool = True,
) -> Resolved[Model]:
    """The settings from these layers, or a `SettingsError` listing every bad value. The
    config file is `config_file`, else the one ALERTFOLD_CONFIG names; without
    `use_environment` only the file and the defaults count (the environment still fills
    `${NAME}` in the file)."""
    layers = _Layers(model)
    problems: list[str] = []
    path = config_file or (Path(environ[CONFIG_VARIABLE]) if environ.get(CONFIG_VARIABLE) else None)
    if path is not None:
        file = ConfigFileSource(model, path, environ)
        layers.add(file(), lambda field: Origin("file", file.where(field)))
        # Checked on its own too: a bad value in the file is refused even where a variable
        # hides it today, so the file never holds a mistake waiting for that variable to go.
        problems += layers.validate()[1]
    if use_environment:
        field_of = {one.variable: one.field for one in layers.declared.values()}
        found = {field_of[name]: value for name, value in _Environment(model, environ)().items()}
        layers.add(found, lambda _: Origin("environment"))
    given = {field: value for field, value in overrides.items() if value is not None}
    layers.add(given, lambda _: Origin("override"))
    settings, wrong = layers.validate()
    problems += wrong
    if settings is None or problems:
        raise SettingsError(
            "invalid settings:\n  " + "\n  ".join(dict.fromkeys(problems))
        ) from None
    return Resolved(settings, layers.origins)


class _Layers(Generic[Model]):
    """Values merged layer over layer, each remembering the layer it came from."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.declared = {one.field: one for one in declarations(model)}
        self.values: dict[str, object] = {}
        self.origins: dict[str, Origin] = {}

    def add(self, values: Mapping[str, object], origin: Callable[[str], Origin]) -> None:
        self.values.update(values)
        self.origins.update({field: origin(field) for field in values})

    def validate(self) -> tuple[Model | None, list[str]]:
        try:
            return self.model.model_validate(self.values), []
        except ValidationError as error:
            return None, [self._line(detail) for detail in error.errors()]

    def _line(self, detail: ErrorDetails) -> str:
        """`VARIABLE=value: problem`, or `path:line: section.key=value: problem`."""
        field = str(detail["loc"][0]) if detail["loc"] else "?"
        problem = detail["msg"].removeprefix("Value error, ")
        declared = self.declared.get(field)
        if declared is None:
            return f"{field}: {problem}"
        given = shown(declared, self.values.get(field))
        origin = self.origins.get(field, DEFAULT)
        if origin.kind == "file":
            return f"{origin.where}: {declared.key}={given}: {problem}"
        return f"{declared.variable}={given}: {problem}"


def shown(declared: Declared, value: object) -> str:
    """A value as a message may show it: secrets never, and a URL without its password."""
    if declared.secret:
        return "(hidden)"
    if isinstance(value, str):
        return repr(without_password(value))
    return repr(value)


def without_password(text: str) -> str:
    return re.sub(r"://([^:/@]*):[^/]*@", r"://\1:***@", text)
