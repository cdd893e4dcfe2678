"""CLI commands for streaming: `relay` (store -> Kafka), `project` (Kafka -> views), `lag`.

Thin: parse the settings (flags or environment variables, README "Streaming"), build the
process from `consumers/`, run it until SIGTERM. Both processes exit 0 after a clean stop.
"""

from __future__ import annotations

from typing import Annotated

import typer

from consumers.settings import DEFAULT_TOPIC, ENV, KafkaSettings
from infra.cli.app import Fmt, FmtOpt, _settings, app
from infra.store.urls import configured_store

BootstrapOpt = Annotated[
    str,
    typer.Option(
        "--bootstrap", envvar=ENV["bootstrap"], help="Kafka bootstrap servers, HOST:PORT[,...]"
    ),
]
TopicOpt = Annotated[
    str, typer.Option("--topic", envvar=ENV["topic"], help="the topic of ledger events")
]
ProtocolOpt = Annotated[
    str,
    typer.Option(
        "--security-protocol",
        envvar=ENV["security_protocol"],
        help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    ),
]
CaOpt = Annotated[
    str | None,
    typer.Option("--ssl-cafile", envvar=ENV["ssl_cafile"], help="CA certificate file (PEM)"),
]
CertOpt = Annotated[
    str | None,
    typer.Option("--ssl-certfile", envvar=ENV["ssl_certfile"], help="client certificate (PEM)"),
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--ssl-keyfile", envvar=ENV["ssl_keyfile"], help="client private key (PEM)"),
]
KeyPassOpt = Annotated[
    str | None,
    typer.Option("--ssl-password", envvar=ENV["ssl_password"], help="the private key's password"),
]
MechanismOpt = Annotated[
    str | None,
    typer.Option(
        "--sasl-mechanism",
        envvar=ENV["sasl_mechanism"],
        help="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI",
    ),
]
UserOpt = Annotated[
    str | None,
    typer.Option("--sasl-username", envvar=ENV["sasl_username"], help="SASL user name"),
]
PassOpt = Annotated[
    str | None,
    typer.Option("--sasl-password", envvar=ENV["sasl_password"], help="SASL password"),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="no log lines on stderr")]


def kafka_settings(
    bootstrap: str,
    topic: str,
    protocol: str,
    cafile: str | None,
    certfile: str | None,
    keyfile: str | None,
    keypass: str | None,
    mechanism: str | None,
    username: str | None,
    password: str | None,
) -> KafkaSettings:
    return KafkaSettings(
        bootstrap=bootstrap,
        topic=topic,
        security_protocol=protocol.upper(),
        ssl_cafile=cafile,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ssl_password=keypass,
        sasl_mechanism=mechanism.upper() if mechanism else None,
        sasl_username=username,
        sasl_password=password,
    )


@app.command()
def relay(
    bootstrap: BootstrapOpt,
    topic: TopicOpt = DEFAULT_TOPIC,
    from_start: Annotated[
        bool,
        typer.Option("--from-start", help="publish the whole log again (after the topic was lost)"),
    ] = False,
    batch: Annotated[
        int,
        typer.Option(
            "--batch", envvar="CLEDGER_RELAY_BATCH", help="events acknowledged per batch", min=1
        ),
    ] = 5_000,
    poll: Annotated[
        float,
        typer.Option(
            "--poll", envvar="CLEDGER_RELAY_POLL", help="seconds between looks at an idle log"
        ),
    ] = 0.2,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions",
            envvar="CLEDGER_KAFKA_PARTITIONS",
            help="partitions of the topic when the relay creates it",
            min=1,
        ),
    ] = 4,
    replication: Annotated[
        int,
        typer.Option(
            "--replication-factor",
            envvar="CLEDGER_KAFKA_REPLICATION",
            help="replicas of the topic when the relay creates it",
            min=1,
        ),
    ] = 1,
    linger_ms: Annotated[
        int,
        typer.Option(
            "--linger-ms", envvar="CLEDGER_RELAY_LINGER_MS", help="producer batching delay"
        ),
    ] = 20,
    drain: Annotated[
        bool, typer.Option("--drain", help="stop once the whole log is published")
    ] = False,
    protocol: ProtocolOpt = "PLAINTEXT",
    cafile: CaOpt = None,
    certfile: CertOpt = None,
    keyfile: KeyOpt = None,
    keypass: KeyPassOpt = None,
    mechanism: MechanismOpt = None,
    username: UserOpt = None,
    password: PassOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Follow the store's notification log and publish every event to a Kafka topic, in order
    per agreement; resumes where it stopped (stored in the store), stops cleanly on SIGTERM."""
    from consumers.relay import Relay, RelayOptions
    from consumers.runtime import Log, Stopper

    settings = kafka_settings(
        bootstrap,
        topic,
        protocol,
        cafile,
        certfile,
        keyfile,
        keypass,
        mechanism,
        username,
        password,
    )
    options = RelayOptions(
        batch=batch,
        poll=poll,
        partitions=partitions,
        replication=replication,
        from_start=from_start,
        drain=drain,
        linger_ms=linger_ms,
    )
    store = configured_store(_settings.get("store"))
    Relay(
        store, settings, options, log=Log("relay", quiet=quiet), stopper=Stopper().install()
    ).run()


ViewsOpt = Annotated[
    str,
    typer.Option(
        "--views",
        envvar="CLEDGER_VIEWS",
        help="the views database: postgresql://user@host:5432/db or sqlite:///views.db",
    ),
]


@app.command()
def project(
    bootstrap: BootstrapOpt,
    views: ViewsOpt,
    topic: TopicOpt = DEFAULT_TOPIC,
    group: Annotated[
        str,
        typer.Option("--group", envvar="CLEDGER_PROJECTOR_GROUP", help="the consumer group"),
    ] = "cledger-views",
    max_records: Annotated[
        int,
        typer.Option(
            "--max-records",
            envvar="CLEDGER_PROJECTOR_MAX_RECORDS",
            help="messages applied per batch at most (one transaction)",
            min=1,
        ),
    ] = 50_000,
    session_timeout_ms: Annotated[
        int,
        typer.Option(
            "--session-timeout-ms",
            envvar="CLEDGER_PROJECTOR_SESSION_TIMEOUT_MS",
            help="how soon the group notices a member has gone",
        ),
    ] = 10_000,
    max_poll_interval_ms: Annotated[
        int,
        typer.Option(
            "--max-poll-interval-ms",
            envvar="CLEDGER_PROJECTOR_MAX_POLL_INTERVAL_MS",
            help="longest a batch may take before the group hands its partitions on",
        ),
    ] = 300_000,
    heartbeat_interval_ms: Annotated[
        int,
        typer.Option(
            "--heartbeat-interval-ms",
            envvar="CLEDGER_PROJECTOR_HEARTBEAT_MS",
            help="heartbeats to the group coordinator",
        ),
    ] = 3_000,
    drain: Annotated[
        bool, typer.Option("--drain", help="stop once its partitions are read to the end")
    ] = False,
    protocol: ProtocolOpt = "PLAINTEXT",
    cafile: CaOpt = None,
    certfile: CertOpt = None,
    keyfile: KeyOpt = None,
    keypass: KeyPassOpt = None,
    mechanism: MechanismOpt = None,
    username: UserOpt = None,
    password: PassOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Consume the topic as a member of a consumer group and keep the materialised views (per
    agreement rows) current in a PostgreSQL or SQLite database, exactly once in effect; stops
    cleanly on SIGTERM."""
    from consumers.projector import Projector, ProjectorOptions
    from consumers.runtime import Log, Stopper

    settings = kafka_settings(
        bootstrap,
        topic,
        protocol,
        cafile,
        certfile,
        keyfile,
        keypass,
        mechanism,
        username,
        password,
    )
    options = ProjectorOptions(
        group=group,
        max_records=max_records,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=heartbeat_interval_ms,
        max_poll_interval_ms=max_poll_interval_ms,
        drain=drain,
    )
    log = Log("projector", quiet=quiet)
    Projector(views, settings, options, log=log, stopper=Stopper().install()).run()


@app.command()
def lag(
    bootstrap: BootstrapOpt,
    topic: TopicOpt = DEFAULT_TOPIC,
    views: Annotated[
        str | None,
        typer.Option(
            "--views", envvar="CLEDGER_VIEWS", help="the projectors' views database, if any"
        ),
    ] = None,
    fmt: FmtOpt = Fmt.table,
    protocol: ProtocolOpt = "PLAINTEXT",
    cafile: CaOpt = None,
    certfile: CertOpt = None,
    keyfile: KeyOpt = None,
    keypass: KeyPassOpt = None,
    mechanism: MechanismOpt = None,
    username: UserOpt = None,
    password: PassOpt = None,
) -> None:
    """Per partition: how far the relay is behind the store (events still to send there) and
    each projector group behind the topic (messages still to apply)."""
    from consumers.lag import lag as measure
    from infra.render.tables import emit_rows

    settings = kafka_settings(
        bootstrap,
        topic,
        protocol,
        cafile,
        certfile,
        keyfile,
        keypass,
        mechanism,
        username,
        password,
    )
    rows = measure(configured_store(_settings.get("store")), views, settings)
    columns = ("part", "group", "partition", "position", "end", "behind", "note")
    emit_rows(rows, fmt.value, title=f"Lag on {topic}", columns=columns)
