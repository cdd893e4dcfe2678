"""Reading the store's notification log in bulk: pages of native events as stored rows.

Why not replay: views need every event, not aggregates; reading `stored_events` a page at a
time (one query per page, in one read transaction) and decoding the library's JSON `state` with
polars (`projections.frame.decode_stored`) is many times faster than rebuilding events one by
one in Python.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.store.urls import StoreError, StoreURL, configured_store, parse_store_url

if TYPE_CHECKING:
    from domain.ledger import Ledger

PAGE = 250_000
Page = tuple[tuple[int, ...], tuple[str, ...], tuple[bytes, ...]]


def native_topics() -> list[str]:
    """The stored topics of native events: each catalogue type on each subject class. Anything
    else in the log (`Opened`, `Assigned`, `Received`, `ReceiptRescinded`) is book-keeping."""
    from eventsourcing.utils import get_topic

    from domain.agreements import Agreement
    from domain.catalogue import CATALOGUE
    from domain.organisations import Commissioner, Provider
    from domain.portfolios import Portfolio
    from domain.subjects import LedgerSubject

    topics = []
    for cls in (Agreement, Provider, Commissioner, Portfolio):
        for name in CATALOGUE:
            event_class = cls.__dict__.get(name)
            if isinstance(event_class, type) and issubclass(event_class, LedgerSubject.Recorded):
                topics.append(get_topic(event_class))
    return topics


def store_of(source: Ledger | str | None) -> StoreURL:
    """The store a ledger was opened on, or a store URL (None: the configured default)."""
    if source is None or isinstance(source, str):
        return parse_store_url(configured_store(source))
    env = source.env
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        return StoreURL("sqlite", path=str(env.get("SQLITE_DBNAME")))
    return StoreURL(
        "postgresql",
        host=str(env.get("POSTGRES_HOST")),
        port=int(env.get("POSTGRES_PORT") or 5432),
        user=str(env.get("POSTGRES_USER")),
        password=str(env.get("POSTGRES_PASSWORD") or ""),
        dbname=str(env.get("POSTGRES_DBNAME")),
    )


def events_table(store: StoreURL) -> str:
    """The library names the table after the application on PostgreSQL, not on SQLite."""
    return "stored_events" if store.kind == "sqlite" else "ledger_events"


def no_ledger(store: StoreURL) -> StoreError:
    where = Path(store.path).expanduser() if store.kind == "sqlite" else store.display
    return StoreError(f"no ledger at {where}; create one with 'cledger init' or 'cledger demo'")


class LogReader:
    """Pages of native rows after a notification id, all from one read transaction."""

    def __init__(self, store: StoreURL, page: int = PAGE):
        self.store, self.page = store, page
        self.topics = native_topics()
        self.table = events_table(store)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        """A cursor in one read-only snapshot of the store; a missing store or one without the
        ledger's table is a plain error (reading never creates a store)."""
        if self.store.kind == "sqlite":
            path = Path(self.store.path).expanduser().resolve()
            if not path.is_file():
                raise no_ledger(self.store)
            conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
            try:
                conn.execute("BEGIN")  # one snapshot for every page
                if not conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
                ).fetchone():
                    raise no_ledger(self.store)
                yield conn.cursor()
            except sqlite3.DatabaseError as err:
                raise StoreError(f"cannot read the ledger at {path}: {err}") from None
            finally:
                conn.close()
            return
        import psycopg

        try:
            conn = psycopg.connect(
                host=self.store.host,
                port=self.store.port,
                user=self.store.user,
                password=self.store.password or None,
                dbname=self.store.dbname,
                connect_timeout=10,
            )
        except psycopg.OperationalError as err:
            if "does not exist" in str(err):
                raise no_ledger(self.store) from None
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise StoreError(
                f"cannot reach PostgreSQL store {self.store.display}: {first}"
            ) from None
        with conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone() == (None,):
                raise no_ledger(self.store)
            yield conn.cursor()

    def pages(self, cur: Any, after: int, limit: int | None = None) -> Iterator[Page]:
        """Native rows with notification id > `after`, `page` (or `limit`) at a time, in log
        order, as (notification ids, topics, states)."""
        size = limit or self.page
        while True:
            if self.store.kind == "sqlite":
                marks = ",".join("?" * len(self.topics))
                cur.execute(
                    f"SELECT rowid, topic, state FROM {self.table} "
                    f"WHERE rowid > ? AND topic IN ({marks}) ORDER BY rowid LIMIT ?",
                    (after, *self.topics, size),
                )
            else:
                cur.execute(
                    "SELECT notification_id, topic, state "
                    f"FROM {self.table} WHERE notification_id > %s AND topic = ANY(%s) "
                    "ORDER BY notification_id LIMIT %s",
                    (after, self.topics, size),
                )
            rows = cur.fetchall()
            if not rows:
                return
            after = rows[-1][0]
            ids, topics, states = zip(*rows, strict=True)
            del rows
            yield ids, topics, states
            if len(ids) < size:
                return

    def identity(self, cur: Any, notification_id: int) -> str | None:
        """Which stored event holds this notification id (to see a store was replaced)."""
        if self.store.kind == "sqlite":
            cur.execute(
                f"SELECT originator_id, originator_version FROM {self.table} WHERE rowid = ?",
                (notification_id,),
            )
        else:
            cur.execute(
                f"SELECT originator_id, originator_version FROM {self.table} "
                "WHERE notification_id = %s",
                (notification_id,),
            )
        row = cur.fetchone()
        return f"{row[0]}:{row[1]}" if row else None
