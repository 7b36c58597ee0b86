"""Issue history over HTTP, from the audit store: every event, and the issue at a past time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from projections.audit_history import parse_time
from projections.audit_store import AuditQueryError, AuditStore, state_view


def history_router(deps: ApiDependencies) -> APIRouter:
    router = APIRouter()

    @router.get("/issues/{issue_id}/history", tags=["views"])
    def issue_history(issue_id: str) -> list[dict[str, Any]]:
        """Every recorded event of the issue, oldest first: when, what, who, which input."""
        try:
            return [entry.as_json() for entry in _audit(deps).history(issue_id)]
        except AuditQueryError as error:
            raise ApiError(404, str(error)) from None

    return router


def issue_at(deps: ApiDependencies, issue_id: str, at: str) -> dict[str, Any]:
    """The issue as it was at `at`, shaped like the live view (`GET /issues/{id}`)."""
    try:
        moment = parse_time(at)
    except ValueError as error:
        raise ApiError(400, f"at: {error}") from None
    try:
        return state_view(_audit(deps).at_time(issue_id, moment))
    except AuditQueryError as error:
        raise ApiError(404, str(error)) from None


def _audit(deps: ApiDependencies) -> AuditStore:
    if deps.audit is None:
        raise ApiError(503, "issue history is not available: no audit store configured")
    return deps.audit
