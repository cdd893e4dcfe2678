"""Recorders: the library's SQLite and PostgreSQL application recorders plus the event-id index.

The stored-events rows are exactly the library's. Beside them, in the same transaction, each
native event writes one row of `ledger_event_ids` (event_id primary key), so re-imports are
recognised, two writers cannot both store one event_id, and a correction can find the event it
names without scanning the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg.sql import SQL, Identifier

from domain.recording import IndexedEvent
from infra.store.bulk import PostgresSession, SQLiteSession

INDEX_TABLE = "ledger_event_ids"
_CHUNK = 500
_PG_SLICE = 5_000


def _rows(event_ids: Any) -> list[tuple[str, str, str, str]]:
    return [(r.event_id, r.originator_id.hex, r.type, r.digest) for r in event_ids or ()]


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


class IndexedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite: one file, no server; the embedded default."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} (event_id TEXT PRIMARY KEY, "
            "originator_id TEXT NOT NULL, type TEXT NOT NULL, digest TEXT NOT NULL) WITHOUT ROWID",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # One executemany instead of the library's row-at-a-time inserts: the same rows. Writing
        # first takes the write lock at once (a read first would make a WAL snapshot that cannot
        # be upgraded while another writer commits); under that lock the new rowids (the
        # notification ids) are the last n.
        c.executemany(
            self.insert_events_statement,
            [
                (
                    s.originator_id.hex
                    if isinstance(s.originator_id, uuid.UUID)
                    else s.originator_id,
                    s.originator_version,
                    s.topic,
                    s.state,
                )
                for s in stored_events
            ],
        )
        c.executemany(f"INSERT INTO {INDEX_TABLE} VALUES (?,?,?,?)", _rows(kwargs.get("event_ids")))
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        last = c.fetchone()[0] or 0
        return list(range(last - len(stored_events) + 1, last + 1))

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, IndexedEvent]:
        found: dict[str, IndexedEvent] = {}
        if not event_ids:
            return found
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(event_ids)):
                marks = ",".join("?" * len(chunk))
                c.execute(
                    f"SELECT event_id, originator_id, type, digest FROM {INDEX_TABLE} "
                    f"WHERE event_id IN ({marks})",
                    list(chunk),
                )
                for row in c.fetchall():
                    found[row[0]] = IndexedEvent(row[0], uuid.UUID(row[1]), row[2], row[3])
        return found

    def existing_subjects(self, aggregate_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks([a.hex for a in aggregate_ids]):
                marks = ",".join("?" * len(chunk))
                c.execute(
                    f"SELECT originator_id FROM {self.events_table_name} WHERE "
                    f"originator_version = 1 AND originator_id IN ({marks})",
                    list(chunk),
                )
                found.update(uuid.UUID(row[0]) for row in c.fetchall())
        return found

    def bulk_session(self) -> SQLiteSession:
        """A connection of its own for a bulk import (`Ledger.begin_bulk`)."""
        pool = self.datastore.pool
        return SQLiteSession(pool.db_name, self.events_table_name, pool.lock_timeout or 5)

    def count_by_topic(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT topic, COUNT(*) FROM {self.events_table_name} GROUP BY topic")
            return {row[0]: row[1] for row in c.fetchall()}


class IndexedPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL: for many writers and national scale."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.index_table = Identifier(datastore.schema or "public", INDEX_TABLE)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (event_id text PRIMARY KEY, originator_id uuid NOT "
                "NULL, type text NOT NULL, digest text NOT NULL)"
            ).format(self.index_table)
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's statements (table lock, notify, one INSERT over an array of events
        RETURNING notification ids) plus the index rows, in one transaction, without the
        library's pipeline mode: with a whole import in one batch, the pipeline fills both
        sides' buffers and client and server wait on each other for ever."""
        notification_ids: list[int] = []
        with self.datastore.transaction(commit=True) as curs:
            if stored_events:
                # the table lock first, as a bulk import takes it: two writers then never wait
                # on each other's index rows while holding what the other needs
                self._lock_table(curs)
                self._notify_channel(curs)
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return notification_ids
            # in slices, so the server never waits long for one statement's parameters (the
            # library's idle-in-transaction timeout would end the session)
            for start in range(0, len(stored_events), _PG_SLICE):
                part = stored_events[start : start + _PG_SLICE]
                PostgresAggregateRecorder._insert_stored_events(self, curs, part)
                notification_ids.extend(self._fetch_ids_after_insert_events(curs, part))
        return notification_ids

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        rows = _rows(kwargs.get("event_ids"))
        statement = SQL(
            "INSERT INTO {0} SELECT * FROM unnest(%s::text[], %s::uuid[], %s::text[], %s::text[])"
        ).format(self.index_table)
        for start in range(0, len(rows), _PG_SLICE):
            # statements over arrays, not 200,000 round trips
            part = rows[start : start + _PG_SLICE]
            curs.execute(statement, tuple(list(c) for c in zip(*part, strict=True)))

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, IndexedEvent]:
        found: dict[str, IndexedEvent] = {}
        if not event_ids:
            return found
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT event_id, originator_id, type, digest FROM {0} WHERE event_id = ANY(%s)"
                ).format(self.index_table),
                (list(event_ids),),
            )
            for row in curs.fetchall():
                oid = row["originator_id"]
                found[row["event_id"]] = IndexedEvent(
                    row["event_id"],
                    oid if isinstance(oid, uuid.UUID) else uuid.UUID(str(oid)),
                    row["type"],
                    row["digest"],
                )
        return found

    def existing_subjects(self, aggregate_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        if not aggregate_ids:
            return set()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT originator_id FROM {0}.{1} WHERE originator_version = 1 "
                    "AND originator_id = ANY(%s)"
                ).format(
                    Identifier(self.datastore.schema or "public"),
                    Identifier(self.events_table_name),
                ),
                (list(aggregate_ids),),
            )
            return {
                r["originator_id"]
                if isinstance(r["originator_id"], uuid.UUID)
                else uuid.UUID(str(r["originator_id"]))
                for r in curs.fetchall()
            }

    def bulk_session(self) -> PostgresSession:
        """A connection of its own for a bulk import (`Ledger.begin_bulk`)."""
        conninfo = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
        return PostgresSession(
            conninfo,
            self.datastore.schema or "public",
            self.events_table_name,
            self.channel_name,
            self.datastore.lock_timeout,
        )

    def count_by_topic(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT topic, COUNT(*) AS n FROM {0}.{1} GROUP BY topic").format(
                    Identifier(self.datastore.schema or "public"),
                    Identifier(self.events_table_name),
                )
            )
            return {row["topic"]: row["n"] for row in curs.fetchall()}
