"""Alertmanager's API v2 where it makes sense for alertfold: its status, its alerts (the member
alerts of alertfold's issues) and its silences (`gateways.api.alertmanager_silences`), so
`amtool --alertmanager.url=<alertfold>` and Prometheus work against alertfold.

- `GET /api/v2/status`: what amtool checks at start and `amtool config show` prints.
- `GET /api/v2/alerts`: the firing member alerts of every issue not archived, as
  GettableAlerts (`receivers`: the issue's Slack channel), `suppressed` with the ids of the
  silences covering them, filtered as Alertmanager filters (`filter`, `active`, `silenced`,
  `receiver`).
- `POST /api/v2/alerts` (also under `/prometheus-alert/{channel}`, for a Prometheus whose
  `path_prefix` names the channel): alerts as Prometheus posts them, taken as Alertmanager
  takes them: every valid one is stored, and with an invalid one the answer is 400 naming it
  (it goes to `alerts.dlq`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from domain.alertmanager import GO_ZERO_TIME
from domain.errors import AlertRejected, DomainError, summarise
from domain.intake import admit_postable_alerts
from domain.matcher_syntax import parse_matchers
from domain.member_alerts import MemberAlert
from gateways.api.alertmanager_silences import (
    LABEL_SET,
    alertmanager_silences_router,
    refusal,
)
from gateways.api.auth import UNAUTHORIZED_RESPONSE, require
from gateways.api.bodies import read_json
from gateways.api.dependencies import ApiDependencies
from gateways.api.errors import ApiError
from gateways.api.ingest import ALERTMANAGER_CHANNEL, channel_endpoints
from gateways.api.metrics import ApiMetrics
from gateways.api.publishing import request_name, store_admission
from projections.lookup import iso_utc

# The Alertmanager whose API this follows: amtool warns when its own version differs.
ALERTMANAGER_API_VERSION = "0.35.0"
_PAGE = 1000


def alertmanager_router(deps: ApiDependencies, metrics: ApiMetrics) -> APIRouter:
    router = APIRouter(tags=["alertmanager"], responses=UNAUTHORIZED_RESPONSE)
    view = [Depends(require(deps.view_keys))]
    ingest = [Depends(require(deps.ingest_keys))]
    started = deps.clock()

    @router.get("/api/v2/status", dependencies=view)
    def status() -> dict[str, Any]:
        return {
            "cluster": {"status": "disabled", "peers": []},
            "versionInfo": {
                "version": ALERTMANAGER_API_VERSION,
                "revision": "alertfold",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
            },
            "config": {
                "original": "# alertfold: Alertmanager's API v2 over alertfold's issues.\n"
                "# Routing is by Slack channel (GET /mappings); silences as in /silences.\n"
            },
            "uptime": iso_utc(started),
        }

    @router.get("/api/v2/alerts", dependencies=view)
    def get_alerts(
        filter: Annotated[list[str] | None, Query()] = None,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        receiver: str | None = None,
    ) -> Response:
        """The firing member alerts of alertfold's issues (`inhibited` and `unprocessed`
        select nothing more: alertfold has neither)."""
        try:
            wanted = [m for text in filter or () for m in parse_matchers(text)]
            receivers = re.compile(f"^(?:{receiver})$") if receiver else None
        except (DomainError, re.error) as error:
            return refusal(400, f"bad filter: {error}")
        now = deps.clock()
        silences = list(deps.silences.catalog.listed(now)) if deps.silences else []
        found = []
        for channel, member, alert in _firing_members(deps):
            if receivers is not None and not receivers.match(channel):
                continue
            subject = member.as_alert(alert)
            if not all(m.matches(subject) for m in wanted):
                continue
            silenced_by = [s.id for s in silences if s.active_at(now) and s.matches(subject)]
            if (silenced_by and silenced) or (not silenced_by and active):
                found.append(gettable_alert(channel, member, silenced_by))
        return JSONResponse(sorted(found, key=lambda a: str(a["fingerprint"])))

    async def post_alerts(request: Request, channel: str | None = None) -> Response:
        try:
            body = await read_json(request, deps.max_body_bytes)
            admission = admit_postable_alerts(
                body, routes=deps.routes, now=deps.clock(), path_channel=channel
            )
            stored = await store_admission(deps, metrics, admission, request=request_name(request))
        except AlertRejected as error:
            return refusal(400, str(error))
        except ApiError as error:
            return refusal(error.status, error.message, error.headers)
        if stored.set_aside:
            why = "; ".join(f"alert {r.index}: {summarise(r.problems)}" for r in stored.set_aside)
            return refusal(400, f"the other alerts were accepted; not these: {why}")
        return Response(status_code=200)

    in_query, in_path = channel_endpoints(post_alerts, ALERTMANAGER_CHANNEL)
    for path in ("/api/v2/alerts", "/prometheus-alert/{channel}/api/v2/alerts"):
        router.add_api_route(
            path,
            in_path if "{channel}" in path else in_query,
            name="post_alerts",
            methods=["POST"],
            dependencies=ingest,
            openapi_extra=_POSTABLE_ALERTS,
            responses={
                200: {"description": "every alert stored on the alerts topic"},
                400: {
                    "description": "an invalid alert (the others were stored; the invalid "
                    "ones went to alerts.dlq), or a body that is not a list of alerts: the "
                    "reason, as a JSON string"
                },
            },
        )
    router.include_router(alertmanager_silences_router(deps))
    return router


_POSTABLE_ALERTS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["labels"],
                        "properties": {
                            "labels": LABEL_SET,
                            "annotations": LABEL_SET,
                            "startsAt": {"type": "string", "format": "date-time"},
                            "endsAt": {"type": "string", "format": "date-time"},
                            "generatorURL": {"type": "string"},
                        },
                    },
                }
            }
        },
    }
}


def gettable_alert(channel: str, member: MemberAlert, silenced_by: list[str]) -> dict[str, Any]:
    return {
        "labels": member.labels,
        "annotations": member.annotations,
        "receivers": [{"name": channel}],
        "fingerprint": member.fingerprint,
        "startsAt": iso_utc(member.starts_at),
        "updatedAt": iso_utc(member.last_seen),
        "endsAt": iso_utc(member.ends_at) or GO_ZERO_TIME,
        "status": {
            "state": "suppressed" if silenced_by else "active",
            "silencedBy": silenced_by,
            "inhibitedBy": [],
            "mutedBy": [],
        },
    }


def _firing_members(deps: ApiDependencies) -> Iterator[tuple[str, MemberAlert, dict[str, Any]]]:
    """(channel, member, the issue's latest alert) for every firing member of an issue that is
    open or resolved (a person may resolve an issue whose alerts still fire)."""
    seen: set[str] = set()
    for status in ("open", "resolved"):
        offset = 0
        while True:
            page = deps.store.list_issues(status=status, limit=_PAGE, offset=offset)
            for issue in page:
                if issue["id"] in seen:
                    continue
                seen.add(issue["id"])
                for member in issue.get("members") or []:
                    found = MemberAlert.model_validate(member)
                    if found.firing:
                        yield issue["channel_id"], found, issue.get("last_alert") or {}
            if len(page) < _PAGE:
                break
            offset += _PAGE
