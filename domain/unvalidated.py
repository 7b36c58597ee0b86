"""Models built from values that were validated already, without validating them again.

The fold makes several issue states, snapshots and event records for every alert, each from
values validated when they entered the issue (or the issue's own typed assignments), and
reads back alerts the API validated: validating them again on every copy was a large share
of the fold's time. pydantic's `model_construct` skips validation too, but re-reads each
field's alias and default on every call, which costs about ten times more.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


@functools.cache
def field_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The model's fields in order: `model.model_fields` is a deprecation-checking property,
    costly on the fold's path."""
    return tuple(model.model_fields)


def made_of(model: type[M], values: dict[str, Any]) -> M:
    """`model` holding `values` (one for every field) as they are.

    Containers are shared with `values`, which is safe because the models are frozen and
    an issue's state is changed by replacing a value, never a list or dict in place.
    """
    made = model.__new__(model)
    # In the fields' order: JSON follows the order of the model's `__dict__`.
    names = field_names(model)
    object.__setattr__(made, "__dict__", {name: values[name] for name in names})
    object.__setattr__(made, "__pydantic_fields_set__", set(names))
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made
