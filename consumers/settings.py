"""How the relay and the projector reach Kafka: bootstrap servers, topic, TLS and SASL.

Why one place: both processes (and `cledger lag`) talk to the same cluster with the same
security settings, which a production cluster requires (TLS, SASL/SCRAM); each setting comes
from a flag or an environment variable (README, "Streaming") and is passed through unchanged to
kafka-python, so whatever kafka-python supports works here, and nothing depends on one broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.errors import LedgerError

DEFAULT_TOPIC = "ledger.events"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI")
# flag -> environment variable, for the README and the CLI alike
ENV = {
    "bootstrap": "CLEDGER_KAFKA_BOOTSTRAP",
    "topic": "CLEDGER_KAFKA_TOPIC",
    "security_protocol": "CLEDGER_KAFKA_SECURITY_PROTOCOL",
    "ssl_cafile": "CLEDGER_KAFKA_SSL_CAFILE",
    "ssl_certfile": "CLEDGER_KAFKA_SSL_CERTFILE",
    "ssl_keyfile": "CLEDGER_KAFKA_SSL_KEYFILE",
    "ssl_password": "CLEDGER_KAFKA_SSL_PASSWORD",
    "sasl_mechanism": "CLEDGER_KAFKA_SASL_MECHANISM",
    "sasl_username": "CLEDGER_KAFKA_SASL_USERNAME",
    "sasl_password": "CLEDGER_KAFKA_SASL_PASSWORD",
}


class StreamError(LedgerError):
    """A streaming process cannot go on (broker unreachable, a setting refused, ...)."""


@dataclass(frozen=True)
class KafkaSettings:
    """The cluster and topic a process talks to, with its security settings."""

    bootstrap: str
    topic: str = DEFAULT_TOPIC
    security_protocol: str = "PLAINTEXT"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        servers = [s.strip() for s in self.bootstrap.split(",") if s.strip()]
        if not servers or any(":" not in s for s in servers):
            raise StreamError(
                f"--bootstrap '{self.bootstrap}'; expected HOST:PORT (several separated by commas)"
            )
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise StreamError(
                f"--security-protocol '{self.security_protocol}'; expected one of "
                + ", ".join(SECURITY_PROTOCOLS)
            )
        if self.sasl_mechanism is not None and self.sasl_mechanism not in SASL_MECHANISMS:
            raise StreamError(
                f"--sasl-mechanism '{self.sasl_mechanism}'; expected one of "
                + ", ".join(SASL_MECHANISMS)
            )
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise StreamError(
                f"--security-protocol {self.security_protocol} needs --sasl-mechanism "
                "(e.g. SCRAM-SHA-512) and its credentials"
            )
        if not self.topic.strip():
            raise StreamError("--topic is empty; expected a topic name such as ledger.events")

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    def client(self) -> dict[str, Any]:
        """Keyword arguments every kafka-python client takes: servers and security."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security_protocol,
        }
        optional = {
            "ssl_cafile": self.ssl_cafile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_password": self.ssl_password,
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.sasl_username,
            "sasl_plain_password": self.sasl_password,
        }
        config.update({k: v for k, v in optional.items() if v is not None})
        config.update(self.extra)
        return config
