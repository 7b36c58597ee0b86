"""Certificates for a broker's TLS listener and its clients, made by the test that needs them.

A CA signs the broker's certificate (for 127.0.0.1 and localhost) and a client's; a second CA,
that signed nothing of the broker's, stands for the wrong CA file.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM text and as files."""

    certificate: str
    key: str
    certificate_file: Path
    key_file: Path


@dataclass(frozen=True)
class KafkaCertificates:
    ca: Issued
    broker: Issued
    client: Issued
    stranger_ca: Issued


def kafka_certificates(directory: Path) -> KafkaCertificates:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("alertfold test CA"), ca_key, _name("alertfold test CA"), ca_key)
    broker_key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    broker = _certificate(
        _name("localhost"), broker_key, _name("alertfold test CA"), ca_key, names=names
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(_name("alertfold"), client_key, _name("alertfold test CA"), ca_key)
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _certificate(_name("stranger CA"), stranger_key, _name("stranger CA"), stranger_key)
    return KafkaCertificates(
        ca=_written(directory, "ca", ca, ca_key),
        broker=_written(directory, "broker", broker, broker_key),
        client=_written(directory, "client", client, client_key),
        stranger_ca=_written(directory, "stranger-ca", stranger, stranger_key),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    is_ca = subject == issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _written(
    directory: Path, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Issued:
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    certificate_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    certificate_file.write_text(certificate_pem)
    key_file.write_text(key_pem)
    return Issued(certificate_pem, key_pem, certificate_file, key_file)
