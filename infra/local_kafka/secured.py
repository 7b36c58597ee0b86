"""A second client listener speaking SASL_SSL, for trying and testing alertfold against a
secured cluster on one machine.

The plaintext listener stays: the broker's own readiness probe and inter-broker traffic use
it, so the secured one can be as strict as a production cluster's (clients' certificates
required, every user authenticated) without the local broker needing credentials of its own.
SCRAM users are stored in the cluster metadata when the storage is formatted, so they exist
from the first start; PLAIN users are in the listener's JAAS configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.local_kafka.constants import LOOPBACK
from infra.local_kafka.errors import PortInUseError
from infra.local_kafka.ports import free_port, port_in_use

LISTENER = "SASL_SSL"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS)
_PREFIX = f"listener.name.{LISTENER.lower()}."


@dataclass(frozen=True)
class SaslSslListener:
    """TLS with `certificate_chain` and `private_key` (PEM text; the key PKCS#8, not
    encrypted); with `client_ca` (PEM), clients must present a certificate it signed; `users`
    (name → password) may authenticate with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. `port` 0
    means a free port at each start."""

    certificate_chain: str = field(repr=False)
    private_key: str = field(repr=False)
    users: Mapping[str, str] = field(repr=False)
    client_ca: str | None = field(default=None, repr=False)
    port: int = 0

    def __post_init__(self) -> None:
        for name, password in self.users.items():
            # The storage tool's --add-scram and a JAAS line both take these characters apart.
            if not name.isidentifier() or any(c in password for c in '",=[]\\ '):
                raise ValueError(f"user {name!r}: names must be identifiers, passwords plain")

    def pick_port(self, taken: tuple[int, ...]) -> int:
        """This start's port: the fixed one, else a free one the broker's others are not."""
        if self.port:
            if port_in_use(self.port):
                raise PortInUseError(self.port, role="Kafka SASL_SSL listener")
            return self.port
        port = free_port()
        while port in taken:
            port = free_port()
        return port

    def add_to(self, props: Mapping[str, str], port: int) -> dict[str, str]:
        """The broker's properties with this listener on `port` added."""
        address = f"{LISTENER}://{LOOPBACK}:{port}"
        plain_users = " ".join(f'user_{name}="{pw}"' for name, pw in self.users.items())
        added = {
            "listeners": f"{props['listeners']},{address}",
            "advertised.listeners": f"{props['advertised.listeners']},{address}",
            "listener.security.protocol.map": (
                f"{props['listener.security.protocol.map']},{LISTENER}:{LISTENER}"
            ),
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            f"{_PREFIX}ssl.keystore.type": "PEM",
            f"{_PREFIX}ssl.keystore.certificate.chain": self.certificate_chain.strip(),
            f"{_PREFIX}ssl.keystore.key": self.private_key.strip(),
            f"{_PREFIX}plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
            ),
            **{
                f"{_PREFIX}{mechanism.lower()}.sasl.jaas.config": (
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                )
                for mechanism in SCRAM_MECHANISMS
            },
        }
        if self.client_ca is not None:
            added |= {
                f"{_PREFIX}ssl.client.auth": "required",
                f"{_PREFIX}ssl.truststore.type": "PEM",
                f"{_PREFIX}ssl.truststore.certificates": self.client_ca.strip(),
            }
        return {**props, **added}

    def format_arguments(self) -> list[str]:
        """The storage tool's arguments that create every user for both SCRAM mechanisms."""
        return [
            argument
            for name, password in self.users.items()
            for mechanism in SCRAM_MECHANISMS
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]
