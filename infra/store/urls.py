"""Where the ledger lives: a store URL turned into the library's persistence settings.

`sqlite:///path/ledger.db` (the default, `./ledger.db`) or `postgresql://user@host:port/db`,
from `--store` or `CLEDGER_STORE`. A store is created only when asked (`ensure_store`: the
commands that write, `init`, `import`, `record`, `demo`); every other command opens an existing
one (`require_store`), so a mistyped URL or another folder says so instead of answering from a
new, empty ledger.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from domain.errors import LedgerError

DEFAULT_STORE = "sqlite:///ledger.db"
ENV_VAR = "CLEDGER_STORE"


class StoreError(LedgerError):
    pass


class NoLedgerError(StoreError):
    """The store a command reads does not exist (or holds no ledger)."""

    def __init__(self, store: StoreURL) -> None:
        super().__init__(
            f"no ledger at {store.where}; create one with 'cledger init' or 'cledger demo'"
        )


EVENTS_TABLE = {"sqlite": "stored_events", "postgresql": "ledger_events"}  # the library's names


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
    def where(self) -> str:
        """Where the ledger is, as a user would name it: a SQLite file's path, else the URL."""
        return self.path if self.kind == "sqlite" else self.display

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
    """Create the SQLite file (and its folder) or the PostgreSQL database when missing; a path
    that cannot hold a ledger is refused here, naming it, before the library fails obscurely."""
    if store.kind == "sqlite":
        _ensure_sqlite(Path(store.path).expanduser())
        return
    import psycopg

    try:
        with _connect(store, "postgres") as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (store.dbname,)
            ).fetchone()
            if not exists:
                # another writer may have created it a moment ago
                with suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{store.dbname}"')
    except psycopg.Error as err:
        raise _unreachable(store, err) from None


def _ensure_sqlite(path: Path) -> None:
    if path.is_dir():
        raise StoreError(
            f"store {path} is a folder; expected a ledger file such as {path / 'ledger.db'}"
        )
    folder = path.resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):  # SQLite makes an empty file a new database
            pass
    except OSError as err:
        raise StoreError(f"cannot create the ledger {path}: {describe_os_error(err)}") from None


def require_store(store: StoreURL) -> None:
    """Refuse to read a store that does not exist or holds no ledger, creating nothing."""
    if store.kind == "sqlite":
        _require_sqlite(store)
        return
    import psycopg

    try:
        with _connect(store, store.dbname) as conn:
            found = conn.execute("SELECT to_regclass(%s)", (EVENTS_TABLE["postgresql"],)).fetchone()
    except psycopg.OperationalError as err:
        if "does not exist" in str(err):
            raise NoLedgerError(store) from None
        raise _unreachable(store, err) from None
    except psycopg.Error as err:
        raise _unreachable(store, err) from None
    if not found or found[0] is None:
        raise NoLedgerError(store)


def _require_sqlite(store: StoreURL) -> None:
    import sqlite3

    path = Path(store.path).expanduser()
    if path.is_dir():
        raise StoreError(
            f"store {path} is a folder; expected a ledger file such as {path / 'ledger.db'}"
        )
    if not path.exists():
        raise NoLedgerError(store)
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (EVENTS_TABLE["sqlite"],)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(
            f"store {path} is not a ledger ({err}); expected a file made by 'cledger init'"
        ) from None
    if found is None:
        raise NoLedgerError(store)


def _connect(store: StoreURL, dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        host=store.host,
        port=store.port,
        user=store.user,
        password=store.password or None,
        dbname=dbname,
        autocommit=True,
        connect_timeout=10,
    )


def _unreachable(store: StoreURL, err: Exception) -> StoreError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return StoreError(f"cannot reach PostgreSQL store {store.display}: {first}")


def describe_os_error(err: OSError) -> str:
    """What went wrong with a file or folder, and what to do, in a few words."""
    import errno

    advice = {
        errno.EACCES: "permission denied; choose a place you can write to",
        errno.EPERM: "not permitted; choose a place you can write to",
        errno.EROFS: "read-only file system; choose a place you can write to",
        errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
        errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
        errno.ENOENT: "no such file or folder; check the path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
        errno.EISDIR: "it is a folder; expected a file",
        errno.EEXIST: "it already exists; remove it or choose another name",
        errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    }
    return advice.get(err.errno or 0, (err.strerror or type(err).__name__).lower())


@contextmanager
def schema_lock(store: StoreURL) -> Iterator[None]:
    """Serialise table creation: two PostgreSQL writers starting at once would otherwise race on
    `CREATE OR REPLACE FUNCTION` ("tuple concurrently updated"). SQLite needs nothing."""
    if store.kind == "sqlite":
        yield
        return
    with _connect(store, store.dbname) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('cledger-schema'))")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('cledger-schema'))")
