"""What the notification endpoints and the notifier share: stores and how senders are made.

Built by the composition root; tests replace `senders` to point channels at stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import DeliveryLog
from gateways.notify.senders import sender_for
from gateways.notify.sending import DeliveryResult, Sender
from gateways.notify.targets import Target
from gateways.notify.trial import trial_notification

SenderFactory = Callable[[Target, httpx.AsyncClient], Sender]


def default_senders(target: Target, http: httpx.AsyncClient) -> Sender:
    return sender_for(target, http=http)


@dataclass(frozen=True)
class NotificationServices:
    """What the API needs for the notification endpoints, built by the composition root."""

    channels: ChannelStore
    deliveries: DeliveryLog
    clock: Callable[[], datetime]
    senders: SenderFactory = default_senders
    public_url: str = ""
    http_timeout: float = 10.0

    async def try_channel(self, channel: NotificationChannel) -> DeliveryResult:
        """One attempt of a TEST notification through the channel's sender."""
        notification = trial_notification(channel, self.clock(), self.public_url)
        async with httpx.AsyncClient(timeout=self.http_timeout) as http:
            return await self.senders(channel.target, http).send(notification)
