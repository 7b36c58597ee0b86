"""What the HTTP API needs from the rest of the system, passed in by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from domain.routing import RouteTable
from gateways.alert_publisher import AlertPublisher
from gateways.api.auth import ApiKeys
from gateways.api.rate_limit import ChannelRateLimiter
from projections.audit_store import AuditStore
from projections.lookup_store import LookupStore


@dataclass(frozen=True)
class ApiDependencies:
    publisher: AlertPublisher
    store: LookupStore
    routes: RouteTable
    clock: Callable[[], datetime]
    broker_check: Callable[[], Awaitable[tuple[bool, str]]]
    database_check: Callable[[], tuple[bool, str]]
    max_body_bytes: int
    # Issue history and past states; without it those endpoints answer 503.
    audit: AuditStore | None = field(default=None)
    # Keys for ingest and for the views (empty: open); the per-channel limit (None: off).
    ingest_keys: ApiKeys = field(default_factory=ApiKeys)
    view_keys: ApiKeys = field(default_factory=ApiKeys)
    rate_limiter: ChannelRateLimiter | None = field(default=None)
