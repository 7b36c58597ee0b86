"""How a setting is declared: one field of `Settings`, built by `setting()`, that names its
environment variable and its key in the config file, and says whether it is a secret.

Everything else reads these declarations: the environment source, the config file, the
refusals, `alertfold config show` and the tests that keep the README's tables true; so adding
a setting never means editing a second list.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, Field

# The one variable that is not a setting of its own: it names the config file.
CONFIG_VARIABLE = "ALERTFOLD_CONFIG"


class SettingsError(Exception):
    """Settings alertfold cannot run with; the message lists them, one line each."""


def setting(variable: str, key: str, default: Any, *, secret: bool = False, **field: Any) -> Any:
    """A settings field read from the environment variable `variable` and from `key`
    (`section.name`) in the config file. A secret never appears in a repr, a refusal or
    `alertfold config show`."""
    field.setdefault("repr", not secret)
    return Field(
        default,
        validation_alias=variable,
        json_schema_extra={"file_key": key, "secret": secret},
        **field,
    )


@dataclass(frozen=True)
class Declared:
    """One setting as `setting()` declared it."""

    field: str
    variable: str
    key: str
    secret: bool
    is_path: bool

    @property
    def section(self) -> str:
        return self.key.partition(".")[0]


@functools.cache
def declarations(model: type[BaseModel]) -> tuple[Declared, ...]:
    """Every field's declaration, in the model's order; a field not made by `setting()` is a
    programming error, refused as soon as anything reads the settings."""
    found: list[Declared] = []
    undeclared: list[str] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if not isinstance(info.validation_alias, str) or not isinstance(extra, dict):
            undeclared.append(name)
            continue
        found.append(
            Declared(
                field=name,
                variable=info.validation_alias,
                key=str(extra["file_key"]),
                secret=extra["secret"] is True,
                is_path=_holds_a_path(info.annotation),
            )
        )
    if undeclared:
        raise TypeError(f"settings not declared with setting(variable, key, …): {undeclared}")
    return tuple(found)


def _holds_a_path(annotation: object) -> bool:
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_holds_a_path(arg) for arg in get_args(annotation))
    return annotation is Path
