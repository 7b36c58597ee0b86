"""Each notification sender against a stand-in that speaks its receiver's protocol.

Retries run through `retrying.deliver` with a `sleep` that records the waits instead of
sleeping, so Retry-After and backoff are checked exactly and the tests stay fast.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from domain.records import IssueEventRecord
from domain.severity import Severity
from gateways.notify.content import webhook_payload
from gateways.notify.email import EmailSender, message_id
from gateways.notify.ntfy import NtfySender
from gateways.notify.pagerduty import PagerDutySender
from gateways.notify.retrying import RetryPolicy, deliver
from gateways.notify.sending import DeliveryResult, Notification, NotificationKind, Sender
from gateways.notify.targets import EmailTarget, NtfyTarget, PagerDutyTarget, WebhookTarget
from gateways.notify.webhook import WebhookSender
from harness.stories import IssueStory, issue_event
from infra.local_kafka import free_port
from tests.support.notify_servers import (
    PAGERDUTY_THROTTLED,
    HttpReceiver,
    NtfyServer,
    PagerDutyServer,
    running,
)
from tests.support.smtp_server import SmtpServer, TlsIdentity, running_smtp, self_signed_identity

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ROUTING_KEY = "R0UT1NGK3Y0000000000000000000042"
SECRET = "very-secret-value"


class Attempts:
    """What `deliver` reported and how long it would have slept, without sleeping."""

    def __init__(self) -> None:
        self.results: list[DeliveryResult] = []
        self.waits: list[float] = []

    async def on_attempt(self, number: int, result: DeliveryResult) -> None:
        self.results.append(result)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


async def deliver_recorded(
    sender: Sender, notification: Notification
) -> tuple[DeliveryResult, Attempts]:
    attempts = Attempts()
    result = await deliver(
        sender,
        notification,
        policy=RetryPolicy(attempts=4, first_backoff=1.0, max_backoff=60.0),
        on_attempt=attempts.on_attempt,
        sleep=attempts.sleep,
    )
    return result, attempts


def notification(
    event: IssueEventRecord | None = None, kind: NotificationKind = NotificationKind.OPENED
) -> Notification:
    return Notification(
        kind, event or issue_event(), delivery_id="delivery-1", public_url="https://af.example"
    )


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with running(HttpReceiver()) as server:
        yield server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsIdentity:
    return self_signed_identity(tmp_path_factory.mktemp("smtp-tls"))


# -- webhook -----------------------------------------------------------------------------


async def test_a_webhook_delivery_is_the_signed_documented_json(receiver: HttpReceiver) -> None:
    target = WebhookTarget(
        url=f"{receiver.url}/hooks/alertfold",
        bearer_token="bearer-123",  # type: ignore[arg-type]
        header_name="X-Team",
        header_value="ops",  # type: ignore[arg-type]
        signing_secret="signing-key",  # type: ignore[arg-type]
    )
    sent = notification()
    async with httpx.AsyncClient() as http:
        result = await WebhookSender(target, http=http).send(sent)
    assert (result.ok, result.status_code, result.error) == (True, 200, "")
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/alertfold")
    assert request.header("content-type") == "application/json"
    assert request.header("x-alertfold-delivery") == "delivery-1"
    assert request.header("authorization") == "Bearer bearer-123"
    assert request.header("x-team") == "ops"
    expected = hmac.new(b"signing-key", request.body, hashlib.sha256).hexdigest()
    assert request.header("x-alertfold-signature") == f"sha256={expected}"
    assert request.json() == webhook_payload(sent)


async def test_a_webhook_is_retried_on_500_and_429_as_long_as_asked(
    receiver: HttpReceiver,
) -> None:
    receiver.fail_next(1, 500)
    receiver.fail_next(1, 429, retry_after="3")
    target = WebhookTarget(url=receiver.url)
    async with httpx.AsyncClient() as http:
        result, attempts = await deliver_recorded(WebhookSender(target, http=http), notification())
    assert result.ok
    assert [r.status_code for r in attempts.results] == [500, 429, 200]
    assert attempts.waits == [1.0, 3.0]
    bodies = {r.body for r in receiver.requests}
    assert len(bodies) == 1  # every retry sends the same delivery, byte for byte


async def test_a_webhook_refused_with_400_is_not_retried(receiver: HttpReceiver) -> None:
    receiver.fail_next(1, 400, body={"error": "unknown field"})
    target = WebhookTarget(url=f"{receiver.url}/path-token-abc")
    async with httpx.AsyncClient() as http:
        result, attempts = await deliver_recorded(WebhookSender(target, http=http), notification())
    assert (result.ok, result.retryable, result.status_code) == (False, False, 400)
    assert len(receiver.requests) == 1
    assert attempts.waits == []
    assert receiver.url in result.error and "unknown field" in result.error
    assert "path-token-abc" not in result.error


async def test_a_hanging_receiver_is_a_retryable_timeout(receiver: HttpReceiver) -> None:
    receiver.hang_next(1, seconds=10)
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(WebhookTarget(url=receiver.url), http=http, timeout=0.3)
        result = await sender.send(notification())
    assert (result.ok, result.retryable, result.status_code) == (False, True, None)
    assert "no answer" in result.error
    assert 250 <= result.latency_ms < 3000


async def test_an_unreachable_receiver_is_retryable() -> None:
    target = WebhookTarget(url=f"http://127.0.0.1:{free_port()}/secret-path")
    async with httpx.AsyncClient() as http:
        result = await WebhookSender(target, http=http).send(notification())
    assert (result.ok, result.retryable) == (False, True)
    assert "could not reach" in result.error and "secret-path" not in result.error


async def test_secrets_echoed_by_a_receiver_stay_out_of_errors(receiver: HttpReceiver) -> None:
    receiver.fail_next(1, 502, body={"seen": f"Bearer {SECRET}"})
    target = WebhookTarget(url=receiver.url, bearer_token=SECRET)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(target, http=http)
        result = await sender.send(notification())
    assert result.status_code == 502 and result.retryable
    assert SECRET not in result.error and SECRET not in repr(sender) + repr(result)


# -- ntfy --------------------------------------------------------------------------------


async def test_ntfy_gets_title_priority_tags_and_click_in_any_language() -> None:
    event = issue_event(header="Überhitzung im Rechenzentrum 🔥", severity=Severity.PANIC)
    with running(NtfyServer(token="tk_abc")) as ntfy:
        target = NtfyTarget(server=ntfy.url, topic="ops-alerts", token="tk_abc")  # type: ignore[arg-type]
        async with httpx.AsyncClient() as http:
            result = await NtfySender(target, http=http).send(notification(event))
        assert result.ok, result.error
        [message] = ntfy.messages
    assert message["topic"] == "ops-alerts"
    assert message["title"] == "PANIC Überhitzung im Rechenzentrum 🔥 (open)"
    assert message["priority"] == 5
    assert message["tags"] == ["rotating_light", "panic"]
    assert message["click"] == "https://af.example/issues/issue-1"
    assert message["message"].startswith("PANIC Überhitzung")


async def test_ntfy_resolution_is_low_priority_with_a_check_mark() -> None:
    story = IssueStory()
    story.opened()
    with running(NtfyServer()) as ntfy:
        target = NtfyTarget(server=ntfy.url, topic="ops")
        async with httpx.AsyncClient() as http:
            sent = notification(story.resolved(), NotificationKind.RESOLVED)
            assert (await NtfySender(target, http=http).send(sent)).ok
        [message] = ntfy.messages
    assert (message["priority"], message["tags"][0]) == (2, "white_check_mark")


async def test_ntfy_refusing_the_token_is_final_and_the_token_stays_hidden() -> None:
    with running(NtfyServer(token="tk_right")) as ntfy:
        target = NtfyTarget(server=ntfy.url, topic="ops", token="tk_wrong")  # type: ignore[arg-type]
        async with httpx.AsyncClient() as http:
            result, attempts = await deliver_recorded(NtfySender(target, http=http), notification())
    assert (result.status_code, result.retryable, len(attempts.results)) == (401, False, 1)
    assert "unauthorized" in result.error and "tk_wrong" not in result.error


async def test_ntfy_throttling_is_retried() -> None:
    with running(NtfyServer()) as ntfy:
        ntfy.fail_next(2, 429, body={"code": 42901, "http": 429, "error": "limit reached"})
        target = NtfyTarget(server=ntfy.url, topic="ops")
        async with httpx.AsyncClient() as http:
            result, attempts = await deliver_recorded(NtfySender(target, http=http), notification())
        assert result.ok and len(ntfy.messages) == 1
    assert attempts.waits == [1.0, 2.0]


def test_the_ntfy_stand_in_refuses_what_ntfy_refuses() -> None:
    with running(NtfyServer()) as ntfy:
        bad_priority = httpx.post(f"{ntfy.url}/ops", content=b"x", headers={"Priority": "9"})
        bad_topic = httpx.post(f"{ntfy.url}/no.dots", content=b"x")
        named = httpx.post(f"{ntfy.url}/ops", content=b"x", headers={"Priority": "urgent"})
    assert (bad_priority.status_code, bad_priority.json()["code"]) == (400, 40007)
    assert bad_topic.status_code == 404
    assert named.json()["priority"] == 5


# -- PagerDuty ---------------------------------------------------------------------------


async def test_pagerduty_follows_the_issue_through_its_life() -> None:
    story = IssueStory(severity=Severity.PANIC)
    opened = story.opened()
    with running(PagerDutyServer()) as pagerduty:
        target = PagerDutyTarget(
            routing_key=ROUTING_KEY,  # type: ignore[arg-type]
            events_url=f"{pagerduty.url}/v2/enqueue",
        )
        states = []
        async with httpx.AsyncClient() as http:
            sender = PagerDutySender(target, http=http)
            for event, kind in [
                (opened, NotificationKind.OPENED),
                (story.grouped(), NotificationKind.ACKNOWLEDGED),
                (story.grouped(), NotificationKind.UNACKNOWLEDGED),
                (story.resolved(), NotificationKind.RESOLVED),
            ]:
                result = await sender.send(notification(event, kind))
                assert (result.ok, result.status_code) == (True, 202), result.error
                states.append(pagerduty.alerts[story.issue_id])
        trigger = pagerduty.events[0]
    assert states == ["triggered", "acknowledged", "triggered", "resolved"]
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "C0001"
    assert trigger["dedup_key"] == story.issue_id


async def test_pagerduty_throttling_and_outages_are_retried() -> None:
    with running(PagerDutyServer()) as pagerduty:
        pagerduty.fail_next(1, 429, body=PAGERDUTY_THROTTLED)
        pagerduty.fail_next(1, 503)
        target = PagerDutyTarget(
            routing_key=ROUTING_KEY,  # type: ignore[arg-type]
            events_url=f"{pagerduty.url}/v2/enqueue",
        )
        async with httpx.AsyncClient() as http:
            sender = PagerDutySender(target, http=http)
            result, attempts = await deliver_recorded(sender, notification())
        assert result.status_code == 202 and len(pagerduty.events) == 1
    assert [r.status_code for r in attempts.results] == [429, 503, 202]
    assert attempts.waits == [1.0, 2.0]


async def test_an_event_pagerduty_calls_invalid_is_not_retried() -> None:
    with running(PagerDutyServer()) as pagerduty:
        # A key that was valid when stored and no longer has the expected form.
        target = PagerDutyTarget.model_construct(
            kind="pagerduty",
            routing_key=SecretStr("short"),
            events_url=f"{pagerduty.url}/v2/enqueue",
        )
        async with httpx.AsyncClient() as http:
            sender = PagerDutySender(target, http=http)
            result, attempts = await deliver_recorded(sender, notification())
    assert (result.status_code, result.retryable, len(attempts.results)) == (400, False, 1)
    assert "Length of 'routing_key' is incorrect" in result.error


def test_the_pagerduty_stand_in_requires_the_trigger_payload() -> None:
    with running(PagerDutyServer()) as pagerduty:
        answer = httpx.post(
            f"{pagerduty.url}/v2/enqueue",
            json={"routing_key": ROUTING_KEY, "event_action": "trigger", "payload": {}},
        )
    assert answer.status_code == 400
    assert answer.json()["status"] == "invalid event"
    assert "'payload.summary' is missing or blank" in answer.json()["errors"]


# -- e-mail ------------------------------------------------------------------------------


def email_target(server: SmtpServer, **changes: object) -> EmailTarget:
    fields: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "sender": "alertfold@example.com",
        "recipients": ("ops@example.com", "oncall@example.com"),
    }
    return EmailTarget.model_validate(fields | changes)


async def test_email_over_starttls_with_login_threads_by_issue(tls: TlsIdentity) -> None:
    event = issue_event(header="Überhitzung <rack 4>", issue_id="issue-9")
    server = SmtpServer(security="starttls", tls=tls, auth=("alertfold", SECRET))
    with running_smtp(server):
        target = email_target(server, security="starttls", username="alertfold", password=SECRET)
        sender = EmailSender(target, tls_context=tls.client_context())
        result = await sender.send(notification(event))
        assert (result.ok, result.status_code) == (True, 250), result.error
        [mail] = server.mails
    assert mail.over_tls and mail.authenticated_as == "alertfold"
    assert mail.rcpt_tos == ("ops@example.com", "oncall@example.com")
    message = mail.message
    assert message["Subject"] == "[alertfold] ERROR Überhitzung <rack 4> (open)"
    assert message["References"] == message["In-Reply-To"] == "<issue-issue-9@alertfold>"
    assert message["Message-ID"] == message_id(notification(event))
    html = message.get_body(("html",))
    plain = message.get_body(("plain",))
    assert html is not None and plain is not None
    assert "Überhitzung &lt;rack 4&gt;" in html.get_content()
    assert "Überhitzung <rack 4>" in plain.get_content()


async def test_email_over_implicit_tls(tls: TlsIdentity) -> None:
    with running_smtp(SmtpServer(security="tls", tls=tls)) as server:
        target = email_target(server, security="tls")
        result = await EmailSender(target, tls_context=tls.client_context()).send(notification())
        assert result.ok, result.error
        assert server.mails[0].over_tls


async def test_a_temporary_smtp_refusal_is_retried() -> None:
    with running_smtp(SmtpServer()) as server:
        server.reply_next(1, "451 4.3.0 Try again later")
        result, attempts = await deliver_recorded(EmailSender(email_target(server)), notification())
        assert result.ok and len(server.mails) == 1
    assert [r.status_code for r in attempts.results] == [451, 250]
    assert attempts.waits == [1.0]


@pytest.mark.parametrize("refusal", ["data", "recipient"])
async def test_a_permanent_smtp_refusal_is_final(refusal: str) -> None:
    refused = frozenset({"ops@example.com"}) if refusal == "recipient" else frozenset()
    with running_smtp(SmtpServer(refuse_recipients=refused)) as server:
        if refusal == "data":
            server.reply_next(1, "550 5.7.1 Message rejected")
        target = email_target(server, recipients=("ops@example.com",))
        result, attempts = await deliver_recorded(EmailSender(target), notification())
    assert (result.status_code, result.retryable, len(attempts.results)) == (550, False, 1)


async def test_a_wrong_password_is_final_and_never_shown(tls: TlsIdentity) -> None:
    server = SmtpServer(security="starttls", tls=tls, auth=("alertfold", "right"))
    with running_smtp(server):
        target = email_target(server, security="starttls", username="alertfold", password=SECRET)
        sender = EmailSender(target, tls_context=tls.client_context())
        result, attempts = await deliver_recorded(sender, notification())
    assert (result.ok, result.retryable, result.status_code) == (False, False, 535)
    assert len(attempts.results) == 1 and server.failed_logins > 0 and not server.mails
    assert "login refused" in result.error
    assert SECRET not in result.error + repr(sender) + repr(target)


async def test_an_untrusted_certificate_is_final(tls: TlsIdentity) -> None:
    with running_smtp(SmtpServer(security="starttls", tls=tls)) as server:
        result = await EmailSender(email_target(server, security="starttls")).send(notification())
    assert (result.ok, result.retryable) == (False, False)
    assert "certificate" in result.error


async def test_an_unreachable_mail_server_is_retryable() -> None:
    target = EmailTarget(
        host="127.0.0.1", port=free_port(), security="none", sender="a@b.c", recipients=("d@e.f",)
    )
    result = await EmailSender(target).send(notification())
    assert (result.ok, result.retryable, result.status_code) == (False, True, None)
    assert "connection failed" in result.error
