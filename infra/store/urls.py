"""Where the ledger lives: a store URL turned into the library's persistence settings.

`sqlite:///path/ledger.db` (the default, `./ledger.db`) or `postgresql://user@host:port/db`,
from `--store` or `CLEDGER_STORE`. Opening a store creates it when it does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from domain.errors import LedgerError

DEFAULT_STORE = "sqlite:///ledger.db"
ENV_VAR = "CLEDGER_STORE"


class StoreError(LedgerError):
    pass


@dataclass(frozen=True)
class StoreURL:
    kind: str  # "sqlite" or "postgresql"
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = ""

    @property
    def display(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def configured_store(explicit: str | None = None) -> str:
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_STORE


def parse_store_url(url: str) -> StoreURL:
    if "://" not in url:  # a bare path means a SQLite file
        return StoreURL("sqlite", path=url)
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////abs/path.db, as SQLAlchemy writes them
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise StoreError(f"store '{url}' names no file; expected sqlite:///path/ledger.db")
        return StoreURL("sqlite", path=path)
    if parsed.scheme in ("postgresql", "postgres"):
        dbname = parsed.path.lstrip("/")
        if not dbname:
            raise StoreError(
                f"store '{url}' names no database; expected postgresql://user@127.0.0.1:5432/dbname"
            )
        return StoreURL(
            "postgresql",
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or ""),
            dbname=dbname,
        )
    raise StoreError(
        f"store '{url}' has scheme '{parsed.scheme}'; expected sqlite:/// or postgresql://"
    )


def persistence_env(store: StoreURL) -> dict[str, str]:
    """The eventsourcing environment for a store: module, recorder with the event-id index."""
    if store.kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": store.path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "infra.store.recorders:IndexedSQLiteRecorder",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": store.dbname,
        "POSTGRES_HOST": store.host,
        "POSTGRES_PORT": str(store.port),
        "POSTGRES_USER": store.user,
        "POSTGRES_PASSWORD": store.password,
        "POSTGRES_LOCK_TIMEOUT": "30",
        "POSTGRES_POOL_SIZE": "2",
        "APPLICATION_RECORDER_TOPIC": "infra.store.recorders:IndexedPostgresRecorder",
    }


def ensure_store(store: StoreURL) -> None:
    """Create the SQLite file's folder or the PostgreSQL database when missing."""
    if store.kind == "sqlite":
        Path(store.path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    try:
        with psycopg.connect(
            host=store.host,
            port=store.port,
            user=store.user,
            password=store.password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (store.dbname,)
            ).fetchone()
            if not exists:
                # another writer may have created it a moment ago
                with suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{store.dbname}"')
    except psycopg.Error as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StoreError(f"cannot reach PostgreSQL store {store.display}: {first}") from None


def store_exists(store: StoreURL) -> bool:
    if store.kind == "sqlite":
        return Path(store.path).expanduser().exists()
    return True


@contextmanager
def schema_lock(store: StoreURL) -> Iterator[None]:
    """Serialise table creation: two PostgreSQL writers starting at once would otherwise race on
    `CREATE OR REPLACE FUNCTION` ("tuple concurrently updated"). SQLite needs nothing."""
    if store.kind == "sqlite":
        yield
        return
    import psycopg

    with psycopg.connect(
        host=store.host,
        port=store.port,
        user=store.user,
        password=store.password or None,
        dbname=store.dbname,
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('cledger-schema'))")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('cledger-schema'))")
