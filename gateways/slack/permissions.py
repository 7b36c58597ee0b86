"""Who may do what to an issue from Slack: Slack Manager's permission model.

Global admins may do everything everywhere; a channel's admins (users listed for it, or
members of Slack user groups listed for it) may do everything in that channel; everyone else
may only do what is open to all (marking that they investigate, acknowledging). With no admins
configured at all, everyone is an admin, so a fresh install works before anyone wrote a
permissions file.

The file (`ALERTFOLD_SLACK_PERMISSIONS_FILE`) is JSON:
`{"global_admins": ["U…"], "global_admin_user_groups": ["S…"],
  "channels": {"C…": {"admins": ["U…"], "admin_user_groups": ["S…"]}}}`.
User group membership is Slack's to answer (`gateways.slack.usergroups`); this module only
says which groups count where.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.interactions import InteractionKind

# What any member of the channel may do; the rest needs an admin.
OPEN_TO_ALL = frozenset(
    {
        InteractionKind.INVESTIGATING,
        InteractionKind.NOT_INVESTIGATING,
        InteractionKind.ACKNOWLEDGED,
        InteractionKind.UNACKNOWLEDGED,
    }
)


class NotAllowed(Exception):
    """The user may not do this here; the message is what they are told."""


class InvalidPermissions(ValueError):
    """The permissions file cannot be used; the message says where it is wrong."""


@dataclass(frozen=True)
class SlackPermissions:
    global_admins: frozenset[str] = frozenset()
    channel_admins: Mapping[str, frozenset[str]] = field(default_factory=dict)
    global_admin_user_groups: frozenset[str] = frozenset()
    channel_admin_user_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_json_obj(cls, obj: Any) -> SlackPermissions:
        if not isinstance(obj, dict):
            raise InvalidPermissions("the permissions file must hold a JSON object")
        unknown = set(obj) - {"global_admins", "global_admin_user_groups", "channels"}
        if unknown:
            raise InvalidPermissions(
                f"unknown keys {sorted(unknown)}: expected global_admins, "
                "global_admin_user_groups, channels"
            )
        channels = obj.get("channels", {})
        if not isinstance(channels, dict) or not all(
            isinstance(entry, dict) for entry in channels.values()
        ):
            raise InvalidPermissions(
                "channels must be an object of channel id -> "
                "{admins: [...], admin_user_groups: [...]}"
            )
        return cls(
            global_admins=_user_ids(obj.get("global_admins", []), "global_admins"),
            channel_admins={
                str(channel).upper(): _user_ids(
                    entry.get("admins", []), f"channels.{channel}.admins"
                )
                for channel, entry in channels.items()
            },
            global_admin_user_groups=_group_ids(
                obj.get("global_admin_user_groups", []), "global_admin_user_groups"
            ),
            channel_admin_user_groups={
                str(channel).upper(): _group_ids(
                    entry.get("admin_user_groups", []), f"channels.{channel}.admin_user_groups"
                )
                for channel, entry in channels.items()
            },
        )

    @classmethod
    def from_file(cls, path: Path | None) -> SlackPermissions:
        if path is None:
            return cls()
        try:
            return cls.from_json_obj(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as error:
            raise InvalidPermissions(f"{path}: {error}") from None
        except InvalidPermissions as error:
            raise InvalidPermissions(f"{path}: {error}") from None

    @property
    def anyone_is_admin(self) -> bool:
        return (
            not self.global_admins
            and not any(self.channel_admins.values())
            and not self.global_admin_user_groups
            and not any(self.channel_admin_user_groups.values())
        )

    def is_global_admin(self, user_id: str) -> bool:
        """Listed as a global admin by user id (user groups are checked by the caller)."""
        return self.anyone_is_admin or user_id in self.global_admins

    def admin_user_groups(self, channel_id: str | None) -> frozenset[str]:
        """The user groups whose members are admins of the channel (None: global ones only)."""
        local = self.channel_admin_user_groups.get(channel_id or "", frozenset())
        return self.global_admin_user_groups | local

    def is_admin(self, user_id: str, channel_id: str) -> bool:
        return (
            self.anyone_is_admin
            or user_id in self.global_admins
            or user_id in self.channel_admins.get(channel_id, frozenset())
        )

    def check_may(
        self, user_id: str, channel_id: str, kind: InteractionKind, *, group_admin: bool = False
    ) -> None:
        """Raise `NotAllowed` unless the user may; `group_admin`: an admin by a user group."""
        if kind in OPEN_TO_ALL or group_admin or self.is_admin(user_id, channel_id):
            return
        raise NotAllowed(
            f"Only alertfold admins of this channel may {_verb(kind)} issues here; ask one of "
            "them, or a global admin."
        )


def _user_ids(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidPermissions(f"{where} must be a list of Slack user ids")
    return frozenset(value)


def _group_ids(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidPermissions(f"{where} must be a list of Slack user group ids (S…)")
    return frozenset(value)


def _verb(kind: InteractionKind) -> str:
    return {
        InteractionKind.RESOLVED: "resolve",
        InteractionKind.UNRESOLVED: "reopen",
        InteractionKind.MUTED: "mute",
        InteractionKind.UNMUTED: "unmute",
        InteractionKind.TERMINATED: "terminate",
        InteractionKind.MOVED: "move",
    }.get(kind, "change")
