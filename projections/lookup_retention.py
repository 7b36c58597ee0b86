"""Retention applied to a lookup generation's `issues` table, in the caller's transaction."""

from __future__ import annotations

import sqlalchemy as sa

from projections.retention import (
    CLOSED_STATUSES,
    RetentionCutoffs,
    RetentionResult,
    snapshot_without_alert,
)


def apply_retention(
    conn: sa.Connection, issues: sa.Table, cutoffs: RetentionCutoffs
) -> RetentionResult:
    """Delete expired closed issues and strip expired alert bodies (`projections.retention`).

    A row the projector moves to a newer version meanwhile is left alone: the strip is
    conditional on the version it was decided for.
    """
    deleted = conn.execute(
        issues.delete().where(
            issues.c.status.in_(CLOSED_STATUSES),
            issues.c.updated_at < cutoffs.closed_issues_before,
        )
    ).rowcount
    expired = conn.execute(
        sa.select(issues.c.id, issues.c.version, issues.c.snapshot).where(
            issues.c.last_alert_at < cutoffs.alerts_before
        )
    ).all()
    stripped = 0
    if expired:
        stripped = conn.execute(
            issues.update()
            .where(
                issues.c.id == sa.bindparam("b_id"),
                issues.c.version == sa.bindparam("b_version"),
            )
            .values(snapshot=sa.bindparam("b_snapshot"), last_alert_at=None),
            [
                {"b_id": i, "b_version": v, "b_snapshot": snapshot_without_alert(s)}
                for i, v, s in expired
            ],
        ).rowcount
    return RetentionResult(issues_deleted=deleted, alerts_stripped=stripped)
