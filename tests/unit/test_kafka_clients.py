"""The Kafka settings become the keyword arguments every client is built with, and settings
that contradict each other are refused before anything connects, each naming its variable."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from infra.kafka_clients import KafkaConnection, kafka_connection
from infra.settings import SettingsError, load_settings
from tests.support.kafka_tls import KafkaCertificates, kafka_certificates

SERVERS = "kafka-1:9093,kafka-2:9093"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> KafkaCertificates:
    return kafka_certificates(tmp_path_factory.mktemp("certificates"))


def connection(**environ: str) -> KafkaConnection:
    return kafka_connection(load_settings(environ), SERVERS)


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as refused:
        connection(**environ)
    return str(refused.value)


def test_plaintext_clients_get_only_the_servers() -> None:
    assert connection().options == {"bootstrap_servers": SERVERS}


def test_sasl_ssl_clients_get_the_protocol_the_tls_context_and_the_user(
    certificates: KafkaCertificates,
) -> None:
    options = connection(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SSL_CA_FILE=str(certificates.ca.certificate_file),
        KAFKA_SSL_CERT_FILE=str(certificates.client.certificate_file),
        KAFKA_SSL_KEY_FILE=str(certificates.client.key_file),
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="alertfold",
        KAFKA_SASL_PASSWORD="the-password",
    ).options

    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": SERVERS,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "alertfold",
        "sasl_plain_password": "the-password",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "alertfold test CA"),),)
    ]


def test_without_the_hostname_check_the_chain_is_still_verified() -> None:
    options = connection(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CHECK_HOSTNAME="false").options

    assert options["security_protocol"] == "SSL"
    assert not options["ssl_context"].check_hostname
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_the_password_is_never_shown() -> None:
    shown = repr(
        connection(
            KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
            KAFKA_SASL_USERNAME="alertfold",
            KAFKA_SASL_PASSWORD="the-password",
        )
    )
    assert "the-password" not in shown and SERVERS in shown


def test_sasl_without_a_password_is_refused() -> None:
    assert "KAFKA_SASL_PASSWORD must be set with KAFKA_SECURITY_PROTOCOL=SASL_SSL" in refusal(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_USERNAME="alertfold"
    )


def test_credentials_the_protocol_would_not_send_are_refused() -> None:
    assert "KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set but KAFKA_SECURITY_PROTOCOL=" in (
        refusal(KAFKA_SASL_USERNAME="alertfold", KAFKA_SASL_PASSWORD="the-password")
    )


def test_tls_files_without_tls_are_refused(certificates: KafkaCertificates) -> None:
    refused = refusal(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SSL_CA_FILE=str(certificates.ca.certificate_file),
        KAFKA_SASL_USERNAME="alertfold",
        KAFKA_SASL_PASSWORD="the-password",
    )
    assert "KAFKA_SSL_CA_FILE set but KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT uses no TLS" in refused


def test_a_key_without_its_certificate_is_refused(certificates: KafkaCertificates) -> None:
    refused = refusal(
        KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_KEY_FILE=str(certificates.client.key_file)
    )
    assert "KAFKA_SSL_KEY_FILE needs KAFKA_SSL_CERT_FILE" in refused


def test_a_ca_file_without_a_certificate_is_refused(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    refused = refusal(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_FILE=str(not_pem))
    assert f"KAFKA_SSL_CA_FILE='{not_pem}': holds no PEM certificate" in refused


def test_a_key_that_is_not_the_certificates_is_refused(certificates: KafkaCertificates) -> None:
    refused = refusal(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CERT_FILE=str(certificates.client.certificate_file),
        KAFKA_SSL_KEY_FILE=str(certificates.broker.key_file),
    )
    assert "KAFKA_SSL_CERT_FILE=" in refused and "KAFKA_SSL_KEY_FILE=" in refused


def test_an_unknown_mechanism_is_refused_by_the_settings() -> None:
    with pytest.raises(SettingsError, match="KAFKA_SASL_MECHANISM='GSSAPI'"):
        load_settings({"KAFKA_SASL_MECHANISM": "GSSAPI"})
