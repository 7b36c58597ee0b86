"""A local SMTP server (aiosmtpd) that records what it accepts, and a throwaway TLS identity.

It answers like a mail server: it can require AUTH (PLAIN/LOGIN, after STARTTLS unless told
otherwise), offer STARTTLS or speak TLS from the first byte, refuse chosen recipients with
550, and be told to answer the next N messages with a temporary (451) or permanent (550)
reply at DATA.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import ssl
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.local_kafka import free_port

# With TLS from the first byte aiosmtpd thinks AUTH travels in clear; it does not.
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)


@dataclass(frozen=True)
class TlsIdentity:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.cert_file))


def self_signed_identity(directory: Path) -> TlsIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alertfold test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsIdentity(cert_file, key_file)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    authenticated_as: str | None
    over_tls: bool


class SmtpServer:
    """`security` is what it offers: "none", "starttls" (required before MAIL) or "tls"."""

    def __init__(
        self,
        *,
        security: str = "none",
        tls: TlsIdentity | None = None,
        auth: tuple[str, str] | None = None,
        auth_require_tls: bool = True,
        refuse_recipients: frozenset[str] = frozenset(),
    ) -> None:
        if security != "none" and tls is None:
            raise ValueError(f"security {security!r} needs a TLS identity")
        self.host = "127.0.0.1"
        self.port = free_port()
        self._auth = auth
        self._refused = refuse_recipients
        self._lock = threading.Lock()
        self._mails: list[ReceivedMail] = []
        self._script: deque[str] = deque()
        self.failed_logins = 0
        kwargs: dict[str, Any] = {"authenticator": self._authenticate}
        self.implicit_tls = security == "tls"
        if auth is not None:
            # aiosmtpd cannot see TLS it did not negotiate itself: with TLS from the first
            # byte, the connection is encrypted whatever it thinks.
            require_tls = auth_require_tls and not self.implicit_tls
            kwargs |= {"auth_required": True, "auth_require_tls": require_tls}
        if security == "starttls" and tls is not None:
            kwargs |= {"tls_context": tls.server_context(), "require_starttls": True}
        if security == "tls" and tls is not None:
            kwargs["ssl_context"] = tls.server_context()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)

    @property
    def mails(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._mails)

    def reply_next(self, times: int, reply: str) -> None:
        """Answer DATA of the next `times` messages with `reply`, e.g. "451 4.3.0 Try later"."""
        with self._lock:
            self._script.extend([reply] * times)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(
        self,
        server: SMTPServerProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if self._auth is not None and isinstance(auth_data, LoginPassword):
            given = (auth_data.login.decode(), auth_data.password.decode())
            if given == self._auth:
                return AuthResult(success=True, auth_data=given[0])
        with self._lock:
            self.failed_logins += 1
        return AuthResult(success=False, handled=False)

    def _next_reply(self) -> str | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._mails.append(mail)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self,
        server: SMTPServerProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self._server._refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTPServerProtocol, session: Session, envelope: Envelope
    ) -> str:
        reply = self._server._next_reply()
        if reply is not None:
            return reply
        raw = envelope.original_content or envelope.content or b""
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        self._server._record(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
                authenticated_as=session.auth_data if session.authenticated else None,
                over_tls=session.ssl is not None or self._server.implicit_tls,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@contextmanager
def running_smtp(server: SmtpServer) -> Iterator[SmtpServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
