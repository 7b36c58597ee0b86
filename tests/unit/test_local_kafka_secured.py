"""The local broker's SASL_SSL listener: its properties beside the plaintext listener, and
the storage tool's arguments that create its SCRAM users."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local_kafka import LocalKafka, LocalKafkaError, SaslSslListener, parse_properties

LISTENER = SaslSslListener(
    "-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----\n",
    "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n",
    {"alertfold": "pass-word1"},
    client_ca="-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
)


def properties(tmp_path: Path, listener: SaslSslListener = LISTENER) -> dict[str, str]:
    kafka = LocalKafka(tmp_path / "cache", tmp_path / "data", secured=listener)
    return parse_properties(kafka.server_properties(9092, 9093, 9094))


def test_the_listener_comes_beside_the_plaintext_one(tmp_path: Path) -> None:
    props = properties(tmp_path)

    assert props["listeners"].endswith(
        "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094"
    )
    assert props["advertised.listeners"] == ("PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094")
    assert props["listener.security.protocol.map"].endswith(",SASL_SSL:SASL_SSL")
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"


def test_clients_certificates_are_required_when_a_client_ca_is_given(tmp_path: Path) -> None:
    props = properties(tmp_path)
    assert props["listener.name.sasl_ssl.ssl.client.auth"] == "required"
    assert props["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"

    open_to_any = SaslSslListener("chain", "key", {"alertfold": "pw"})
    assert "listener.name.sasl_ssl.ssl.client.auth" not in properties(tmp_path, open_to_any)


def test_plain_users_are_in_the_listeners_jaas_configuration(tmp_path: Path) -> None:
    jaas = properties(tmp_path)["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert jaas == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'user_alertfold="pass-word1";'
    )


def test_scram_users_are_created_for_both_mechanisms_when_storage_is_formatted() -> None:
    assert LISTENER.format_arguments() == [
        "--add-scram",
        "SCRAM-SHA-256=[name=alertfold,password=pass-word1]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alertfold,password=pass-word1]",
    ]


@pytest.mark.parametrize("password", ['with"quote', "with,comma", "with space"])
def test_passwords_the_tools_would_take_apart_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="passwords plain"):
        SaslSslListener("chain", "key", {"alertfold": password})


def test_without_the_listener_there_is_no_secured_address(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "cache", tmp_path / "data")
    assert "SASL_SSL" not in kafka.server_properties(9092, 9093)
    with pytest.raises(LocalKafkaError, match="not started with a SASL_SSL listener"):
        _ = kafka.secured_bootstrap_servers
