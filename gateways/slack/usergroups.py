"""Admins by Slack user group: who is in a group, asked of Slack and remembered a while.

Group membership changes rarely and `usergroups.users.list` is rate limited (Tier 2), so an
answer is kept for `ttl`. When Slack cannot answer (the group is gone, the scope is missing,
rate limited, network down) the user counts as not a member: a refusal can be retried, an
act done by mistake cannot be undone. Each failing group is logged once until it answers
again, so a broken group does not flood the log on every reaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from domain.interactions import InteractionKind
from gateways.slack.permissions import OPEN_TO_ALL, SlackPermissions

log = logging.getLogger("alertfold.slack.usergroups")

DEFAULT_TTL_SECONDS = 300.0
# A failed lookup is asked again sooner than a good answer expires, but not on every act.
FAILURE_TTL_SECONDS = 30.0

# usergroup id -> the user ids in it; raises on any failure.
ListMembers = Callable[[str], Awaitable[list[str]]]


class UserGroupMembers:
    def __init__(
        self,
        list_members: ListMembers,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list = list_members
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._failing: set[str] = set()

    async def members(self, group_id: str) -> frozenset[str]:
        now = self._clock()
        cached = self._cache.get(group_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            users = frozenset(await self._list(group_id))
        except Exception as error:  # any failure: not a member, for a short while
            if group_id not in self._failing:
                log.warning(
                    "user group %s could not be read, members count as none: %s", group_id, error
                )
                self._failing.add(group_id)
            self._cache[group_id] = (now + min(FAILURE_TTL_SECONDS, self._ttl), frozenset())
            return frozenset()
        self._failing.discard(group_id)
        self._cache[group_id] = (now + self._ttl, users)
        return users

    async def in_any(self, user_id: str, group_ids: frozenset[str]) -> bool:
        for group_id in sorted(group_ids):
            if user_id in await self.members(group_id):
                return True
        return False


def slack_group_lister(web_client: Any) -> ListMembers:
    """`usergroups.users.list` through the real slack_sdk AsyncWebClient."""

    async def list_members(group_id: str) -> list[str]:
        response = await web_client.usergroups_users_list(usergroup=group_id)
        return [str(user) for user in response.get("users") or []]

    return list_members


class Admins:
    """The permissions file plus Slack's user groups: the one place that says who is admin."""

    def __init__(self, permissions: SlackPermissions, groups: UserGroupMembers | None) -> None:
        self.permissions = permissions
        self._groups = groups

    async def is_admin(self, user_id: str, channel_id: str) -> bool:
        if self.permissions.is_admin(user_id, channel_id):
            return True
        return await self._in_groups(user_id, self.permissions.admin_user_groups(channel_id))

    async def is_global_admin(self, user_id: str) -> bool:
        if self.permissions.is_global_admin(user_id):
            return True
        return await self._in_groups(user_id, self.permissions.admin_user_groups(None))

    async def check_may(self, user_id: str, channel_id: str, kind: InteractionKind) -> None:
        """Raise `NotAllowed` (its text is what the user is told) unless the user may."""
        group_admin = kind not in OPEN_TO_ALL and not self.permissions.is_admin(user_id, channel_id)
        if group_admin:
            group_admin = await self._in_groups(
                user_id, self.permissions.admin_user_groups(channel_id)
            )
        self.permissions.check_may(user_id, channel_id, kind, group_admin=group_admin)

    async def _in_groups(self, user_id: str, group_ids: frozenset[str]) -> bool:
        if not group_ids or self._groups is None:
            return False
        return await self._groups.in_any(user_id, group_ids)
