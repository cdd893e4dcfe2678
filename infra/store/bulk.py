"""Store sessions for bulk imports: one connection, reads that see the import's own writes, and
every write in one transaction, so an import of any size lands whole or not at all.

The first `write` begins the transaction and takes the store's write lock, held to the commit:
on SQLite the database write lock (`BEGIN IMMEDIATE`), on PostgreSQL the library's own
`LOCK TABLE stored_events IN EXCLUSIVE MODE`, taken before any row is inserted, so notification
ids become visible in commit order (a reader tailing the log never passes a gap that a slower
transaction fills later) and one import is one transaction. Readers are never blocked; another
writer waits for the lock (up to the store's lock timeout) and is then refused with a plain error.
Reads before the first write (the first slice's) see the store as committed, as `Ledger.record`
always did, so a writer that changed the same subject in between is reported as a conflict.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from domain.bulk import Known, StoreConflict
from domain.errors import LedgerError
from domain.stored import IndexRow, Row

INDEX_TABLE = "ledger_event_ids"
_CHUNK = 500
SQLITE_CACHE_KIB = 262_144  # the import's page cache: index inserts stay in memory


class StoreBusy(LedgerError):
    pass


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SQLiteSession:
    """A bulk import's connection to a SQLite store."""

    def __init__(self, path: str, table: str, lock_timeout: float) -> None:
        self.table = table
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=lock_timeout)
        self.conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        self.open = False

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, Known]:
        found: dict[str, Known] = {}
        for chunk in _chunks(list(event_ids)):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT event_id, originator_id, type, digest FROM {INDEX_TABLE} "
                f"WHERE event_id IN ({marks})",
                list(chunk),
            ):
                found[row[0]] = (row[1], row[2], row[3])
        return found

    def existing_subjects(self, oids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(oids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT originator_id FROM {self.table} WHERE originator_version = 1 "
                    f"AND originator_id IN ({marks})",
                    list(chunk),
                )
            )
        return found

    def stored_rows(self, oid: str) -> list[Row]:
        return self.conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {self.table} "
            "WHERE originator_id = ? ORDER BY originator_version",
            (oid,),
        ).fetchall()

    def is_empty(self) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {self.table} LIMIT 1").fetchone() is None

    def changed_since(self, oid: str, version: int) -> bool:
        row = self.conn.execute(
            f"SELECT 1 FROM {self.table} WHERE originator_id = ? AND originator_version >= ? "
            "LIMIT 1",
            (oid, version),
        ).fetchone()
        return row is not None

    def write(self, rows: list[Row], index_rows: list[IndexRow]) -> None:
        try:
            if not self.open:
                self.conn.execute("BEGIN IMMEDIATE")
                self.open = True
            self.conn.executemany(f"INSERT INTO {self.table} VALUES (?,?,?,?)", rows)
            self.conn.executemany(f"INSERT INTO {INDEX_TABLE} VALUES (?,?,?,?)", index_rows)
        except sqlite3.IntegrityError as err:
            raise StoreConflict(str(err)) from None
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise StoreBusy(
                    "the store is being written by another writer; nothing was stored; "
                    "expected to try again when it has finished"
                ) from None
            raise

    def commit(self) -> None:
        if self.open:
            self.conn.execute("COMMIT")
            self.open = False
        self.conn.close()

    def rollback(self) -> None:
        if self.open:
            self.conn.execute("ROLLBACK")
            self.open = False

    def close(self) -> None:
        self.rollback()
        self.conn.close()


class PostgresSession:
    """A bulk import's connection to a PostgreSQL store: rows go in by COPY."""

    def __init__(
        self, conninfo: dict[str, Any], schema: str, table: str, channel: str, lock_timeout: int
    ) -> None:
        self.conn = psycopg.connect(**conninfo, autocommit=True)
        # a slice may take a while to check between two writes: never end the session for it
        self.conn.execute("SET idle_in_transaction_session_timeout = '10min'")
        self.events = sql.Identifier(schema, table)
        self.index = sql.Identifier(schema, INDEX_TABLE)
        self.channel = sql.Identifier(channel)
        self.lock_timeout = lock_timeout
        self.open = False

    def _rows(self, query: sql.Composable, params: Sequence[Any]) -> list[Any]:
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def lookup_event_ids(self, event_ids: Sequence[str]) -> dict[str, Known]:
        if not event_ids:
            return {}
        rows = self._rows(
            sql.SQL(
                "SELECT event_id, replace(originator_id::text, '-', ''), type, digest FROM {0} "
                "WHERE event_id = ANY(%s)"
            ).format(self.index),
            (list(event_ids),),
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def existing_subjects(self, oids: Sequence[str]) -> set[str]:
        if not oids:
            return set()
        rows = self._rows(
            sql.SQL(
                "SELECT replace(originator_id::text, '-', '') FROM {0} "
                "WHERE originator_version = 1 AND originator_id = ANY(%s::uuid[])"
            ).format(self.events),
            (list(oids),),
        )
        return {r[0] for r in rows}

    def stored_rows(self, oid: str) -> list[Row]:
        rows = self._rows(
            sql.SQL(
                "SELECT originator_version, topic, state FROM {0} WHERE originator_id = %s "
                "ORDER BY originator_version"
            ).format(self.events),
            (oid,),
        )
        return [(oid, r[0], r[1], bytes(r[2])) for r in rows]

    def is_empty(self) -> bool:
        return not self._rows(sql.SQL("SELECT 1 FROM {0} LIMIT 1").format(self.events), ())

    def changed_since(self, oid: str, version: int) -> bool:
        return bool(
            self._rows(
                sql.SQL(
                    "SELECT 1 FROM {0} WHERE originator_id = %s AND originator_version >= %s "
                    "LIMIT 1"
                ).format(self.events),
                (oid, version),
            )
        )

    def write(self, rows: list[Row], index_rows: list[IndexRow]) -> None:
        try:
            if not self.open:
                self.conn.autocommit = False
                self.open = True
                # the library's guarantee, taken before the first row: notification ids are
                # issued to one writer at a time and become visible in commit order
                self.conn.execute(
                    sql.SQL("SET LOCAL lock_timeout = {0}").format(
                        sql.Literal(f"{self.lock_timeout}s")
                    )
                )
                self.conn.execute(sql.SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(self.events))
                self.conn.execute(sql.SQL("NOTIFY {0}").format(self.channel))
            with self.conn.cursor() as cur:
                with cur.copy(
                    sql.SQL(
                        "COPY {0} (originator_id, originator_version, topic, state) FROM STDIN"
                    ).format(self.events)
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                with cur.copy(
                    sql.SQL("COPY {0} (event_id, originator_id, type, digest) FROM STDIN").format(
                        self.index
                    )
                ) as copy:
                    for index_row in index_rows:
                        copy.write_row(index_row)
        except psycopg.errors.UniqueViolation as err:
            raise StoreConflict(str(err).splitlines()[0]) from None
        except psycopg.errors.LockNotAvailable:
            raise StoreBusy(
                "the store is being written by another writer; nothing was stored; "
                "expected to try again when it has finished"
            ) from None

    def commit(self) -> None:
        if self.open:
            self.conn.commit()
            self.open = False
        self.conn.close()

    def rollback(self) -> None:
        if self.open:
            self.conn.rollback()
            self.conn.autocommit = True
            self.open = False

    def close(self) -> None:
        self.rollback()
        self.conn.close()
