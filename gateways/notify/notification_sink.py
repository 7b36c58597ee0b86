"""The notifier's side of reading `issue-events`: route each event, record what to send.

A batch's intents (one per event and channel it goes to) are written to the delivery log
with the positions after the batch, in one transaction, before anything of it is sent: that
makes delivery at most once per (event, channel) across restarts and replicas. Only the
intents new to the ledger are handed over for delivery, after the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from gateways.notify.channel_store import ChannelStore
from gateways.notify.channels import NotificationChannel
from gateways.notify.delivery_log import DeliveryLog, Intent
from projections.issue_event_reader import Chore
from projections.issue_event_reading import Record
from projections.notification_routing import route


class NotificationSink:
    """The delivery log as an `IssueEventSink`, routing by the configured channels.

    `hand_over` receives each fresh intent, in order, in the thread that applied the batch.
    """

    name = "notifier"

    def __init__(
        self,
        channels: ChannelStore,
        deliveries: DeliveryLog,
        hand_over: Callable[[Intent], None],
        *,
        channel_refresh_interval: float = 2.0,
    ) -> None:
        self.channels = channels
        self.deliveries = deliveries
        self.hand_over = hand_over
        self.channel_refresh_interval = channel_refresh_interval
        self._configured: dict[str, NotificationChannel] = {}

    def channel(self, channel_id: str) -> NotificationChannel | None:
        """The channel as last read; None when it was deleted since."""
        return self._configured.get(channel_id)

    def read_channels(self) -> None:
        """Read the configured channels again; on failure the last ones stay."""
        self._configured = {channel.id: channel for channel in self.channels.all()}

    def positions(self, topic: str, partitions: Collection[int]) -> dict[int, int]:
        return self.deliveries.positions(topic)

    def apply(self, topic: str, records: Sequence[Record], next_offsets: Mapping[int, int]) -> None:
        for intent in self.deliveries.record_intents(topic, self.intents(records), next_offsets):
            self.hand_over(intent)

    def intents(self, records: Sequence[Record]) -> list[Intent]:
        """Each event with each configured channel it is routed to, in log order."""
        routes = [channel.route for channel in self._configured.values()]
        intents: list[Intent] = []
        for record in sorted(records, key=lambda r: (r.partition, r.offset)):
            routed = route(record.event, routes)
            if routed is not None:
                intents.extend(
                    Intent(c, routed.kind, record.event, record.partition)
                    for c in routed.channel_ids
                )
        return intents

    def chores(self) -> list[Chore]:
        return [Chore("reading the channels", self.channel_refresh_interval, self.read_channels)]
