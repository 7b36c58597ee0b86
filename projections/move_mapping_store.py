"""The move mappings' table: written with the lookup view's batches, read by `GET /mappings`."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from projections.move_mappings import MappingKey, MoveMapping
from projections.upserts import replace_if_newer


def write_move_changes(
    conn: sa.Connection,
    table: sa.Table,
    changes: Sequence[tuple[MappingKey, MoveMapping | None, int]],
) -> None:
    """Moves are rare: one statement each, in log order; only newer issue versions win."""
    for (channel_id, correlation_id), mapping, version in changes:
        if mapping is None:
            conn.execute(
                table.delete().where(
                    table.c.channel_id == channel_id,
                    table.c.correlation_id == correlation_id,
                    table.c.version < version,
                )
            )
            continue
        row = {**mapping.model_dump(), "moved_by": json.dumps(mapping.moved_by)}
        replace_if_newer(conn, table, row)


def read_move_mappings(conn: sa.Connection, table: sa.Table) -> list[MoveMapping]:
    rows = conn.execute(sa.select(table).order_by(table.c.moved_at, table.c.channel_id))
    return [
        MoveMapping.model_validate({**row, "moved_by": json.loads(row["moved_by"] or "null")})
        for row in rows.mappings()
    ]
