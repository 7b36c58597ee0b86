"""Notification channels in the lookup database (SQLite or PostgreSQL), secrets sealed.

A channel row keeps its target in two parts: the public fields as JSON, readable by anyone
with database access, and the secret fields (`SecretStr`) sealed by `infra.secret_box`
under `ALERTFOLD_SECRETS_KEY`. Channels from the channels file are merged in on reading
and are never written here: an id taken by the file cannot be created or changed.

After a key rotation (`ALERTFOLD_SECRETS_KEY=new,old`), `reseal_secrets` moves every stored
secret under the new key (`alertfold notifications rekey`), after which the old key can go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from gateways.notify.channels import (
    NotificationChannel,
    target_public,
    target_secrets,
)
from gateways.notify.targets import TARGETS
from infra.secret_box import SecretBox, SecretBoxError, require_box
from projections.generations import lock_schema
from projections.lookup_tables import UTCDateTime
from projections.notification_routing import RoutingRule

_metadata = sa.MetaData()
channels_table = sa.Table(
    "notification_channels",
    _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("target_kind", sa.String(32), nullable=False),
    sa.Column("target", sa.Text, nullable=False),  # public fields, JSON
    sa.Column("sealed_secrets", sa.Text, nullable=True),  # secret fields, AES-GCM sealed
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


class ChannelNotFound(LookupError):
    pass


class ChannelExists(Exception):
    pass


class ChannelReadOnly(Exception):
    """The channel is declared in the channels file; change it there."""


@dataclass(frozen=True)
class Resealed:
    """What `reseal_secrets` found: channels whose secrets it sealed again under the first
    key, channels already under it, and why the others' secrets open with no key."""

    resealed: int
    current: int
    unreadable: tuple[str, ...] = ()


class ChannelStore:
    """CRUD of API-managed channels plus the file's read-only ones; thread-safe."""

    def __init__(
        self,
        engine: sa.Engine,
        box: SecretBox | None,
        file_channels: Sequence[NotificationChannel] = (),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._box = box
        self._file = {channel.id: channel for channel in file_channels}
        self._clock = clock

    def create_schema(self) -> None:
        with self._engine.begin() as conn:
            lock_schema(conn)  # notifiers and APIs starting together all create it
            conn.execute(sa.schema.CreateTable(channels_table, if_not_exists=True))

    def all(self) -> list[NotificationChannel]:
        """Every channel: the file's first (in file order), then the API's by creation."""
        query = channels_table.select().order_by(channels_table.c.created_at, channels_table.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        stored = [self._channel(row) for row in rows if row["id"] not in self._file]
        return [*self._file.values(), *stored]

    def get(self, channel_id: str) -> NotificationChannel:
        if channel_id in self._file:
            return self._file[channel_id]
        query = channels_table.select().where(channels_table.c.id == channel_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise ChannelNotFound(channel_id)
        return self._channel(row)

    def create(self, channel: NotificationChannel) -> NotificationChannel:
        if channel.id in self._file:
            raise ChannelExists(channel.id)
        now = self._clock()
        values = {**self._columns(channel), "created_at": now, "updated_at": now}
        with self._engine.begin() as conn:
            exists = conn.execute(
                sa.select(channels_table.c.id).where(channels_table.c.id == channel.id)
            ).first()
            if exists is not None:
                raise ChannelExists(channel.id)
            conn.execute(channels_table.insert().values(**values))
        return channel

    def replace(self, channel: NotificationChannel) -> NotificationChannel:
        if channel.id in self._file:
            raise ChannelReadOnly(channel.id)
        values = {**self._columns(channel), "updated_at": self._clock()}
        with self._engine.begin() as conn:
            result = conn.execute(
                channels_table.update().where(channels_table.c.id == channel.id).values(**values)
            )
        if result.rowcount == 0:
            raise ChannelNotFound(channel.id)
        return channel

    def delete(self, channel_id: str) -> None:
        if channel_id in self._file:
            raise ChannelReadOnly(channel_id)
        with self._engine.begin() as conn:
            result = conn.execute(channels_table.delete().where(channels_table.c.id == channel_id))
        if result.rowcount == 0:
            raise ChannelNotFound(channel_id)

    def reseal_secrets(self) -> Resealed:
        """Every stored channel's secrets sealed under the first key, so the older keys can be
        dropped. Secrets the first key sealed are left alone, so running it again changes
        nothing; a channel changed meanwhile is read again, so no change is overwritten."""
        query = (
            sa.select(channels_table.c.id, channels_table.c.sealed_secrets)
            .where(channels_table.c.sealed_secrets.is_not(None))
            .order_by(channels_table.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        resealed = current = 0
        unreadable: list[str] = []
        for channel_id, sealed in rows:
            box = require_box(self._box, channel_id, "re-encrypt")
            while sealed is not None:
                try:
                    again = box.reseal(sealed, owner=channel_id)
                except SecretBoxError as error:
                    unreadable.append(str(error))
                    break
                if again is None:
                    current += 1
                    break
                if self._swap_secrets(channel_id, sealed, again):
                    resealed += 1
                    break
                sealed = self._sealed_secrets(channel_id)
        return Resealed(resealed, current, tuple(unreadable))

    def _swap_secrets(self, channel_id: str, old: str, new: str) -> bool:
        """Whether the row still held `old` and now holds `new`."""
        row = channels_table.c
        update = (
            channels_table.update()
            .where(row.id == channel_id, row.sealed_secrets == old)
            .values(sealed_secrets=new)
        )
        with self._engine.begin() as conn:
            return conn.execute(update).rowcount == 1

    def _sealed_secrets(self, channel_id: str) -> str | None:
        query = sa.select(channels_table.c.sealed_secrets).where(channels_table.c.id == channel_id)
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    # -- rows ----------------------------------------------------------------------------

    def _columns(self, channel: NotificationChannel) -> dict[str, Any]:
        secrets = target_secrets(channel.target)
        sealed = None
        if secrets:
            box = require_box(self._box, channel.id, "store")
            sealed = box.seal(json.dumps(secrets).encode(), owner=channel.id)
        return {
            "id": channel.id,
            "name": channel.name,
            "enabled": channel.enabled,
            "target_kind": channel.target.kind,
            "target": json.dumps(target_public(channel.target)),
            "sealed_secrets": sealed,
            "rule": channel.rule.model_dump_json(),
        }

    def _channel(self, row: sa.RowMapping) -> NotificationChannel:
        target: dict[str, Any] = json.loads(row["target"])
        if row["sealed_secrets"] is not None:
            box = require_box(self._box, row["id"], "read")
            target.update(json.loads(box.open(row["sealed_secrets"], owner=row["id"])))
        return NotificationChannel(
            id=row["id"],
            name=row["name"],
            enabled=row["enabled"],
            target=TARGETS.validate_python(target),
            rule=RoutingRule.model_validate_json(row["rule"]),
            source="api",
        )
