"""The `issue-events` value: one decision of the fold, `{"type": "IssueOpened", …}`.

Consumers ignore event types they do not know, but a value that is not an issue event of a
schema version they read is refused with `UndecodableInput`, never misread.
"""

from __future__ import annotations

import orjson
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


def changed_issue(raw: bytes | None) -> tuple[str, int]:
    """The issue id and version of an issue event, the rest of it unread: for readers that
    only need to know which issue changed (a full decode validates the whole snapshot too,
    2.5 times the work). `UndecodableInput` when the value has neither."""
    try:
        value = orjson.loads(raw or b"")
    except orjson.JSONDecodeError as error:
        raise UndecodableInput(f"invalid issue event: not JSON ({error})") from None
    issue_id = value.get("issue_id") if isinstance(value, dict) else None
    version = value.get("version") if isinstance(value, dict) else None
    if not isinstance(issue_id, str) or type(version) is not int:
        raise UndecodableInput("invalid issue event: no issue_id and version")
    return issue_id, version
