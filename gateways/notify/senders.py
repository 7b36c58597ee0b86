"""Which sender makes the attempts for each kind of channel target."""

from __future__ import annotations

import httpx

from gateways.notify.email import EmailSender
from gateways.notify.ntfy import NtfySender
from gateways.notify.pagerduty import PagerDutySender
from gateways.notify.sending import Sender
from gateways.notify.targets import (
    EmailTarget,
    NtfyTarget,
    PagerDutyTarget,
    Target,
    WebhookTarget,
)
from gateways.notify.webhook import WebhookSender


def sender_for(target: Target, *, http: httpx.AsyncClient) -> Sender:
    """The sender for a channel's target; HTTP senders share the pipeline's client."""
    match target:
        case WebhookTarget():
            return WebhookSender(target, http=http)
        case NtfyTarget():
            return NtfySender(target, http=http)
        case EmailTarget():
            return EmailSender(target)
        case PagerDutyTarget():
            return PagerDutySender(target, http=http)
    raise TypeError(f"no sender for {type(target).__name__}")  # pragma: no cover
