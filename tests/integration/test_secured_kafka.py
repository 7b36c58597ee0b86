"""alertfold on a secured Kafka listener (SASL_SSL: TLS with a client certificate, SCRAM or
PLAIN users): the product's own processes fold and show alerts through it, `verify` and
`replay` read through it, and a wrong password or certificate stops a part at once with one
line naming the setting. One broker for the module, its certificates and users made here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.product import inherited_environment, product_environment
from infra.kafka_admin import broker_reachable
from infra.kafka_clients import kafka_connection
from infra.local_kafka import java_version_ok
from infra.settings import load_settings
from tests.support.kafka import SecuredKafka, secured_local_kafka
from tests.support.product import Product, running_product

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_version_ok(), reason="the local broker needs Java 17+"),
]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    with secured_local_kafka(tmp_path_factory.mktemp("secured-kafka")) as kafka:
        yield kafka


@pytest.fixture(scope="module")
def product(secured: SecuredKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    workdir = tmp_path_factory.mktemp("product")
    with running_product(secured.servers, workdir, **secured.settings()) as product:
        yield product


def alert(channel: str, text: str) -> dict[str, str]:
    return {
        "slackChannelId": channel,
        "correlationId": "db-down",
        "header": "Database down",
        "text": text,
        "severity": "error",
    }


def test_alerts_are_folded_and_shown_through_a_sasl_ssl_listener(product: Product) -> None:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    assert product.post("/alert", alert(channel, "primary does not answer")).status_code == 202
    assert product.post("/alert", alert(channel, "still down")).status_code == 202

    issue = product.wait_for_issue(channel_id=channel, alert_count=2)
    assert issue["status"] == "open"
    health = product.get("/health").json()
    assert health["broker"] == {"ok": True, "detail": "ok"}
    assert product.count("issue-events") >= 2


def test_verify_and_replay_read_through_the_secured_listener(product: Product) -> None:
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    product.post("/alert", alert(channel, "disk full"))
    product.wait_for_issue(channel_id=channel)

    verified = product.command("verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("identical")
    replayed = product.command("replay")
    assert replayed.returncode == 0, replayed.stderr
    assert product.wait_for_issue(channel_id=channel)["alert_count"] == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_sasl_mechanism_reaches_the_cluster(secured: SecuredKafka, mechanism: str) -> None:
    settings = load_settings(secured.settings(mechanism))
    kafka = kafka_connection(settings, secured.servers)
    assert asyncio.run(broker_reachable(kafka, timeout=10)) == (True, "ok")


NO_TLS_FILES = dict.fromkeys(("KAFKA_SSL_CA_FILE", "KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE"), "")
NO_USER = dict.fromkeys(("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"), "")
REFUSALS: dict[str, tuple[Callable[[SecuredKafka], dict[str, str]], str]] = {
    "wrong-password": (
        lambda _: {"KAFKA_SASL_PASSWORD": "not-the-password"},
        "KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD",
    ),
    "untrusted-broker": (
        lambda kafka: {"KAFKA_SSL_CA_FILE": str(kafka.certificates.stranger_ca.certificate_file)},
        "KAFKA_SSL_CA_FILE",
    ),
    "no-client-certificate": (
        lambda _: {"KAFKA_SSL_CERT_FILE": "", "KAFKA_SSL_KEY_FILE": ""},
        "KAFKA_SSL_CERT_FILE",
    ),
    "plaintext": (
        lambda _: {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT", **NO_TLS_FILES, **NO_USER},
        "KAFKA_SECURITY_PROTOCOL=PLAINTEXT",
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refused_connection_stops_a_part_with_one_line_naming_the_setting(
    secured: SecuredKafka, tmp_path: Path, refusal: str
) -> None:
    change, named = REFUSALS[refusal]
    env = product_environment(
        secured.servers,
        tmp_path,
        partitions=2,
        base=inherited_environment(),
        **secured.settings(**change(secured)),
    )

    started = Product(env=env, workdir=tmp_path).command("worker", timeout=60)

    assert started.returncode == 2
    assert started.stderr.startswith(f"alertfold: {named}: "), started.stderr
    assert started.stderr.count("\n") == 1, started.stderr
    assert secured.password not in started.stderr
