"""The names of alertfold's topics and of its consumer groups' common stem, from
`ALERTFOLD_TOPIC_PREFIX`: several installations share a cluster under their own prefixes."""

from __future__ import annotations

from typing import TYPE_CHECKING


class TopicNames:
    if TYPE_CHECKING:  # the setting it is mixed into `Settings` with
        topic_prefix: str

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def alerts_topic(self) -> str:
        return self.topic("alerts")

    @property
    def interactions_topic(self) -> str:
        return self.topic("interactions")

    @property
    def ticks_topic(self) -> str:
        return self.topic("ticks")

    @property
    def alerts_dlq_topic(self) -> str:
        return self.topic("alerts.dlq")

    @property
    def issue_events_topic(self) -> str:
        return self.topic("issue-events")

    @property
    def fold_state_topic(self) -> str:
        return self.topic("fold-state")

    @property
    def notifications_dlq_topic(self) -> str:
        return self.topic("notifications.dlq")

    @property
    def app_id(self) -> str:
        return f"{self.topic_prefix}alertfold"
