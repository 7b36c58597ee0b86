"""Turning a pydantic refusal inside an envelope into `UndecodableInput` with its problems."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from domain.alert import problems_from
from domain.errors import summarise
from wire.envelope import UndecodableInput

T = TypeVar("T")

AT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def validated(build: Callable[[], T], what: str) -> T:
    """`build()`, or `UndecodableInput` naming `what` and each field's problem."""
    try:
        return build()
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableInput(f"invalid {what}: {summarise(problems)}", problems) from None
