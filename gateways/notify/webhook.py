"""Webhook channel: POST the documented JSON (see `content`) to the receiver's URL.

The signature lets a receiver check that a delivery comes from alertfold and was not changed:
`X-Alertfold-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with the
channel's signing secret. `X-Alertfold-Delivery` repeats the delivery id for receivers that
dedupe before parsing.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

from gateways.notify.content import webhook_body
from gateways.notify.http_post import HTTP_TIMEOUT, post
from gateways.notify.sending import DeliveryResult, Notification
from gateways.notify.targets import WebhookTarget

USER_AGENT = "alertfold-notify/1"


def signature(secret: str, body: bytes) -> str:
    """The `X-Alertfold-Signature` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(
    target: WebhookTarget, notification: Notification, body: bytes
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Alertfold-Delivery": notification.delivery_id,
    }
    if target.signing_secret is not None:
        headers["X-Alertfold-Signature"] = signature(target.signing_secret.get_secret_value(), body)
    if target.bearer_token is not None:
        headers["Authorization"] = f"Bearer {target.bearer_token.get_secret_value()}"
    if target.header_name is not None and target.header_value is not None:
        headers[target.header_name] = target.header_value.get_secret_value()
    return headers


class WebhookSender:
    def __init__(
        self, target: WebhookTarget, *, http: httpx.AsyncClient, timeout: float = HTTP_TIMEOUT
    ) -> None:
        self._target = target
        self._http = http
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookSender({self._target!r})"

    async def send(self, notification: Notification) -> DeliveryResult:
        body = webhook_body(notification)
        target = self._target
        secrets = [
            s.get_secret_value()
            for s in (target.bearer_token, target.header_value, target.signing_secret)
            if s is not None
        ]
        return await post(
            self._http,
            target.url,
            content=body,
            headers=webhook_headers(target, notification, body),
            secrets=secrets,
            timeout=self._timeout,
        )
