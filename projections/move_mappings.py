"""Move mappings as a pure fold over `issue-events`: where a correlation id's alerts go.

`IssueMoved` maps (old channel, correlation id) to the new channel; the mapping lasts beyond
the issue (later alerts keep following it, as in Slack Manager) until the issue is moved back
(`IssueArrived` in the old channel removes it). These are the mappings the fold keeps in its
own state; this read model shows them at `GET /mappings`. Every change of one mapping is an
event on the same partition (the old channel's: the move, and the arrival when moved back),
so applying them in log order is right; the version check only makes a re-read harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.records import IssueEventRecord

MappingKey = tuple[str, str]  # (channel id, correlation id)


class MoveMapping(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel_id: str
    correlation_id: str
    target_channel_id: str
    reason: str
    issue_id: str
    moved_at: datetime
    moved_by: dict[str, Any] | None
    version: int  # the issue version of the move, so a late older event changes nothing


def mapping_changes(
    events: Iterable[IssueEventRecord],
) -> list[tuple[MappingKey, MoveMapping | None, int]]:
    """(key, new mapping or None to remove it, version) for each event that changes one."""
    changes: list[tuple[MappingKey, MoveMapping | None, int]] = []
    for event in events:
        if event.type == "IssueMoved":
            source = str(event.data.get("from_channel_id") or "")
            mapping = MoveMapping(
                channel_id=source,
                correlation_id=event.correlation_id,
                target_channel_id=str(event.data.get("to_channel_id") or ""),
                reason=str(event.data.get("reason") or ""),
                issue_id=event.issue_id,
                moved_at=event.occurred_at,
                moved_by=event.data.get("actor"),
                version=event.version,
            )
            changes.append(((source, event.correlation_id), mapping, event.version))
        elif event.type == "IssueArrived":
            key = (event.issue.channel_id, event.correlation_id)
            changes.append((key, None, event.version))
    return changes


def fold_move_mappings(events: Iterable[IssueEventRecord]) -> dict[MappingKey, MoveMapping]:
    """The mappings the events leave; the store applies the same changes in SQL."""
    mappings: dict[MappingKey, MoveMapping] = {}
    for key, mapping, version in mapping_changes(events):
        current = mappings.get(key)
        if mapping is not None:
            if current is None or current.version < version:
                mappings[key] = mapping
        elif current is not None and current.version < version:
            del mappings[key]
    return mappings


def mapping_view(mapping: MoveMapping) -> dict[str, Any]:
    return {"kind": "move", **mapping.model_dump(mode="json", exclude={"version"})}
