"""How every Kafka client of every part connects: the bootstrap servers and, on a secured
cluster, TLS and SASL.

Every consumer, producer and admin client is built with `**kafka.options`, so the security
settings reach all of them from this one place: a client built without them would speak
plaintext to a listener that wants TLS and fail in a way that names nothing.

A refusal is a setting to fix, not a moment to wait out: `refusal()` opens one connection
the way the clients will and turns what went wrong (an untrusted certificate, a rejected
password, a mechanism the broker does not offer) into one line naming the setting.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest

from infra.settings import Settings
from infra.settings_fields import SettingsError

TLS_PROTOCOLS = ("SSL", "SASL_SSL")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")


class KafkaRefused(SettingsError):
    """The cluster refused alertfold's certificate or credentials: the message names the
    setting to fix."""


@dataclass(frozen=True)
class KafkaConnection:
    """Where the cluster is (`servers`) and how to speak to it (`security`: aiokafka's
    `security_protocol`, `ssl_context` and `sasl_*` keyword arguments; never shown)."""

    servers: str
    security: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def options(self) -> dict[str, Any]:
        """Keyword arguments for `AIOKafkaConsumer`, `AIOKafkaProducer` and
        `AIOKafkaAdminClient`."""
        return {"bootstrap_servers": self.servers, **self.security}

    @property
    def protocol(self) -> str:
        return str(self.security.get("security_protocol", "PLAINTEXT"))


def kafka_connection(settings: Settings, servers: str) -> KafkaConnection:
    """The connection the settings describe, or a `SettingsError` listing every
    contradiction between them (credentials the protocol would not send, a key without its
    certificate, files that hold no certificate)."""
    protocol = settings.kafka_security_protocol
    problems = _contradictions(settings)
    security: dict[str, Any] = {"security_protocol": protocol}
    if protocol in TLS_PROTOCOLS:
        try:
            security["ssl_context"] = _tls_context(settings)
        except SettingsError as error:
            problems.append(str(error))
    if protocol in SASL_PROTOCOLS:
        security.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    if problems:
        raise SettingsError("invalid Kafka settings:\n  " + "\n  ".join(problems))
    return KafkaConnection(servers, security if protocol != "PLAINTEXT" else {})


def _contradictions(settings: Settings) -> list[str]:
    protocol = settings.kafka_security_protocol
    setting = f"KAFKA_SECURITY_PROTOCOL={protocol}"
    problems: list[str] = []
    if protocol in SASL_PROTOCOLS:
        missing = [
            name
            for name, value in (
                ("KAFKA_SASL_USERNAME", settings.kafka_sasl_username),
                ("KAFKA_SASL_PASSWORD", settings.kafka_sasl_password),
            )
            if not value
        ]
        if missing:
            problems.append(f"{' and '.join(missing)} must be set with {setting}")
    elif settings.kafka_sasl_username or settings.kafka_sasl_password:
        problems.append(
            f"KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but {setting} sends no "
            "credentials; set KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT)"
        )
    files = {
        "KAFKA_SSL_CA_FILE": settings.kafka_ssl_ca_file,
        "KAFKA_SSL_CERT_FILE": settings.kafka_ssl_cert_file,
        "KAFKA_SSL_KEY_FILE": settings.kafka_ssl_key_file,
    }
    given = [name for name, path in files.items() if path is not None]
    if given and protocol not in TLS_PROTOCOLS:
        problems.append(
            f"{', '.join(given)} set but {setting} uses no TLS; set "
            "KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL"
        )
    if settings.kafka_ssl_key_file is not None and settings.kafka_ssl_cert_file is None:
        problems.append("KAFKA_SSL_KEY_FILE needs KAFKA_SSL_CERT_FILE, the certificate it is for")
    return problems


def _tls_context(settings: Settings) -> ssl.SSLContext:
    """A client context trusting KAFKA_SSL_CA_FILE (else the system's store), offering the
    client certificate when one is given; without the hostname check the broker's chain is
    still verified."""
    ca = settings.kafka_ssl_ca_file
    try:
        context: ssl.SSLContext = create_ssl_context(cafile=ca)
    except ssl.SSLError as error:
        raise SettingsError(
            f"KAFKA_SSL_CA_FILE={str(ca)!r}: holds no PEM certificate ({error.reason})"
        ) from None
    cert, key = settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file
    if cert is not None:
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as error:
            raise SettingsError(
                f"KAFKA_SSL_CERT_FILE={str(cert)!r}, KAFKA_SSL_KEY_FILE={str(key)!r}: not a "
                f"PEM certificate and its unencrypted private key ({error.reason})"
            ) from None
    context.check_hostname = settings.kafka_ssl_check_hostname
    return context


async def refusal(kafka: KafkaConnection, timeout: float = 10.0) -> str | None:
    """Why the first bootstrap server refuses a client of this connection, as one line that
    starts with the setting to fix; None when it serves one, or does not answer at all (a
    broker still starting, a network to wait for). A connection closed before any answer
    counts only when the next attempt, a second later, is closed too."""
    host, _, port = kafka.servers.split(",")[0].strip().rpartition(":")
    where = f"Kafka at {host}:{port}"
    for attempt in (1, 2):
        try:
            async with asyncio.timeout(timeout):
                await _first_answer(kafka, host.strip("[]"), int(port), timeout)
        except ssl.SSLCertVerificationError as error:
            return _untrusted(where, error)
        except ssl.SSLError as error:
            return _tls_failed(where, kafka.protocol, error)
        except SaslAuthenticationFailed as error:
            return (
                f"KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD: {where} refused them "
                f"({kafka.security['sasl_mechanism']}: {_message(error)}); check both, and "
                "KAFKA_SASL_MECHANISM"
            )
        except (UnsupportedSaslMechanismError, IllegalSaslStateError) as error:
            return (
                f"KAFKA_SASL_MECHANISM={kafka.security['sasl_mechanism']}: {where} does not "
                f"take it ({_message(error)})"
            )
        except KafkaConnectionError as error:
            if "closed" not in str(error):
                return None
            if attempt == 2:
                return _closed(where, kafka.protocol)
            await asyncio.sleep(1)
        except (OSError, KafkaError, TimeoutError, ValueError):
            return None
        else:
            return None
    return None


async def _first_answer(kafka: KafkaConnection, host: str, port: int, timeout: float) -> None:
    """Connect as the clients will (TLS handshake, SASL exchange) and ask for metadata."""
    connection = await create_conn(
        host, port, request_timeout_ms=int(timeout * 1000), **kafka.security
    )
    try:
        await connection.send(MetadataRequest([]))
    finally:
        connection.close()


def _message(error: KafkaError) -> str:
    return str(error.args[0]) if error.args else type(error).__name__


def _untrusted(where: str, error: ssl.SSLCertVerificationError) -> str:
    reason = error.verify_message or str(error)
    if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
        return (
            f"KAFKA_SSL_CHECK_HOSTNAME: {where} presented a certificate for another name "
            f"({reason}); connect by a name it holds (KAFKA_BOOTSTRAP_SERVERS) or set "
            "KAFKA_SSL_CHECK_HOSTNAME=false"
        )
    return (
        f"KAFKA_SSL_CA_FILE: {where} presented a certificate that is not trusted ({reason}); "
        "set KAFKA_SSL_CA_FILE to the CA that signed the brokers' certificates"
    )


def _tls_failed(where: str, protocol: str, error: ssl.SSLError) -> str:
    reason = error.reason or str(error)
    if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER_FAILURE" in reason:
        return (
            f"KAFKA_SECURITY_PROTOCOL={protocol}: {where} does not speak TLS there ({reason}); "
            "check it and KAFKA_BOOTSTRAP_SERVERS"
        )
    return (
        f"KAFKA_SSL_CERT_FILE: {where} refused the TLS handshake ({reason}); does it want a "
        "client certificate its CA signed (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)?"
    )


def _closed(where: str, protocol: str) -> str:
    """The broker hung up before answering: what the listener may want that was not given."""
    if protocol in TLS_PROTOCOLS:
        setting = "KAFKA_SSL_CERT_FILE"
        wants = ["a client certificate its CA signed (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)"]
    else:
        setting = f"KAFKA_SECURITY_PROTOCOL={protocol}"
        wants = ["TLS (KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL)"]
    if protocol not in SASL_PROTOCOLS:
        wants.append("SASL (SASL_SSL or SASL_PLAINTEXT, with KAFKA_SASL_*)")
    return (
        f"{setting}: {where} closed the connection before answering; does it want "
        f"{' or '.join(wants)}?"
    )
