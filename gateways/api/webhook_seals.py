"""Sealing the webhooks of accepted alerts before they are published.

Slack Manager's rule: an alert with webhooks needs the encryption key, because a webhook's
URL and payload must never be stored in the clear. Sealing happens here, between admission
and the producer, so nothing downstream of the API ever sees them.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.alert import Alert
from gateways.api.errors import ApiError
from infra.webhook_sealing import SealBroken, WebhookSealer


def sealed_webhooks(sealer: WebhookSealer | None, alerts: Sequence[Alert]) -> list[Alert]:
    """The alerts with every webhook url and payload sealed, or a 400 saying why not."""
    if sealer is None:
        if any(alert.webhooks for alert in alerts):
            raise ApiError(
                400,
                "alerts with webhooks need ALERTFOLD_WEBHOOK_ENCRYPTION_KEY: webhook URLs and "
                "payloads are stored only sealed, and no key is set",
            )
        return list(alerts)
    try:
        return [sealer.seal_alert(alert) for alert in alerts]
    except SealBroken as error:
        raise ApiError(400, f"a webhook value sent sealed does not open: {error}") from None
