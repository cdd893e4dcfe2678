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
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg.sql import SQL, Identifier

from domain.recording import IndexedEvent

INDEX_TABLE = "ledger_event_ids"
_CHUNK = 500


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

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        rows = _rows(kwargs.get("event_ids"))
        if rows:
            curs.executemany(
                SQL("INSERT INTO {0} VALUES (%s, %s, %s, %s)").format(self.index_table), rows
            )

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

    def count_by_topic(self) -> dict[str, int]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT topic, COUNT(*) AS n FROM {0}.{1} GROUP BY topic").format(
                    Identifier(self.datastore.schema or "public"),
                    Identifier(self.events_table_name),
                )
            )
            return {row["topic"]: row["n"] for row in curs.fetchall()}
