"""The `issue-events` value: one decision of the fold, `{"type": "IssueOpened", …}`.

Consumers ignore event types they do not know, but a value that is not an issue event of a
schema version they read is refused with `UndecodableInput`, never misread.
"""

from __future__ import annotations

from pydantic import ValidationError

from domain.alert import problems_from
from domain.errors import summarise
from domain.records import IssueEventRecord
from wire.envelope import UndecodableInput


def encode_issue_event(event: IssueEventRecord) -> bytes:
    return event.model_dump_json().encode()


def decode_issue_event(raw: bytes | str | None) -> IssueEventRecord:
    """The event, or `UndecodableInput` saying which fields are wrong."""
    if not raw:
        raise UndecodableInput("empty value (tombstone): expected an issue event")
    try:
        return IssueEventRecord.model_validate_json(raw)
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableInput(f"invalid issue event: {summarise(problems)}", problems) from None
