"""The views database: where projectors keep the events they consumed, their offsets and the
per-agreement rows (`projections.materialised`), on PostgreSQL or, for one machine, SQLite.

Tables (plain SQL tables other tools can read too):
- `stream_events`: every event consumed, once: its identity (originator id, version) is the
  primary key, with the message as received; projectors rebuild their state from it after a
  restart instead of reading the topic again. `seq` numbers rows in commit order.
- `stream_offsets`: per consumer group, topic and partition, the next offset to read and the
  generation of the topic's contents it belongs to.
- `stream_meta`: the day the rows are of (`as_of`) and the rows' schema.
- `view_<table>`: the per-agreement rows, each with `agreement_id`.

Every write happens in `transaction()`, which holds one lock for the whole database (PostgreSQL:
an advisory lock taken inside the transaction; SQLite: BEGIN IMMEDIATE): projectors sharing the
database apply their batches one at a time, each seeing every event the others committed before
it, so a row computed from a lineage spanning partitions held by two projectors is never
computed from half of it. Offsets are written in the same transaction as the rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from domain.errors import LedgerError
from infra.store.urls import StoreURL, parse_store_url
from projections.materialised import TABLES, schemas

LOCK_KEY = 0x636C6564676572  # "cledger": the advisory lock every projector takes to write
EVENT_COLUMNS = (
    "originator_id",
    "version",
    "notification_id",
    "event_id",
    "type",
    "subject",
    "subject_id",
    "topic",
    "partition",
    "offset",
    "message",
)
EVENT_SCHEMA = pl.Schema(
    {
        "originator_id": pl.String,
        "version": pl.Int64,
        "notification_id": pl.Int64,
        "event_id": pl.String,
        "type": pl.String,
        "subject": pl.String,
        "subject_id": pl.String,
        "topic": pl.String,
        "partition": pl.Int64,
        "offset": pl.Int64,
        "message": pl.String,
    }
)


class ViewsError(LedgerError):
    pass


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_name(view: str) -> str:
    return f"view_{view}"


def _sql_type(dtype: pl.DataType, kind: str) -> str:
    if dtype == pl.Boolean:
        return "BOOLEAN" if kind == "postgresql" else "INTEGER"
    if dtype.is_integer():
        return "BIGINT"
    if dtype.is_float():
        return "DOUBLE PRECISION" if kind == "postgresql" else "REAL"
    if dtype == pl.Date:
        return "DATE" if kind == "postgresql" else "TEXT"
    return "TEXT"


SCHEMAS = schemas()
# rows written by another version of the views (a column more, a type changed) are rebuilt
SCHEMA_VERSION = hashlib.sha1(
    repr(sorted((k, repr(v)) for k, v in SCHEMAS.items())).encode()
).hexdigest()[:16]


def _typed(rows: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Columns read back as text or numbers, cast to the table's schema."""
    out = []
    for name, dtype in schema.items():
        col = pl.col(name)
        have = rows.schema[name]
        if dtype == pl.Boolean and have != pl.Boolean:
            expr = (
                col.cast(pl.String).str.to_lowercase().is_in(["t", "true", "1"])
                if have == pl.String
                else col.cast(pl.Int64) != 0
            )
            out.append(pl.when(col.is_null()).then(None).otherwise(expr).alias(name))
        elif dtype == pl.Date and have == pl.String:
            out.append(col.str.to_date("%Y-%m-%d").alias(name))
        else:
            out.append(col.cast(dtype).alias(name))
    return rows.select(out)


class ViewsDB:
    """One views database. `open(url)` gives the PostgreSQL or SQLite flavour."""

    kind = ""
    mark = "?"

    def __init__(self, url: str):
        self.url = url
        self.store: StoreURL = parse_store_url(url)
        self.conn: Any = None

    @staticmethod
    def open(url: str) -> ViewsDB:
        kind = parse_store_url(url).kind
        db: ViewsDB = PostgresViews(url) if kind == "postgresql" else SQLiteViews(url)
        db.connect()
        return db

    @property
    def display(self) -> str:
        return self.store.display

    def connect(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    # -- schema ---------------------------------------------------------------------------
    def ensure(self) -> bool:
        """Create what is missing; when the rows' schema changed (a new version of the views),
        drop the row tables and make them again: returns True when the rows must be rebuilt."""
        k = self.kind
        serial = "BIGSERIAL PRIMARY KEY" if k == "postgresql" else "INTEGER PRIMARY KEY"
        columns = ", ".join(
            f"{_q(c)} {_sql_type(EVENT_SCHEMA[c], k)}"
            + (" NOT NULL" if c in ("originator_id", "version", "message") else "")
            for c in EVENT_COLUMNS
        )
        with self.transaction() as tx:
            tx.execute(
                f"CREATE TABLE IF NOT EXISTS stream_events (seq {serial}, {columns}, "
                "UNIQUE (originator_id, version))"
            )
            tx.execute(
                "CREATE INDEX IF NOT EXISTS stream_events_subject ON stream_events (subject_id)"
            )
            tx.execute(
                "CREATE TABLE IF NOT EXISTS stream_offsets (grp TEXT NOT NULL, "
                'topic TEXT NOT NULL, "partition" BIGINT NOT NULL, generation BIGINT NOT NULL, '
                'next_offset BIGINT NOT NULL, PRIMARY KEY (grp, topic, "partition"))'
            )
            tx.execute(
                "CREATE TABLE IF NOT EXISTS stream_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            rebuild = tx.meta("schema") != SCHEMA_VERSION
            for name in TABLES:
                if rebuild:
                    tx.execute(f"DROP TABLE IF EXISTS {table_name(name)}")
                cols = ", ".join(f"{_q(c)} {_sql_type(t, k)}" for c, t in SCHEMAS[name].items())
                tx.execute(f"CREATE TABLE IF NOT EXISTS {table_name(name)} ({cols})")
                tx.execute(
                    f"CREATE INDEX IF NOT EXISTS {table_name(name)}_agreement ON "
                    f"{table_name(name)} (agreement_id)"
                )
            # a batch's lineage mates are looked up by lineage (`Tx.lineage_mates`)
            tx.execute(
                "CREATE INDEX IF NOT EXISTS view_continuity_lineage ON view_continuity (lineage_id)"
            )
            if rebuild:
                tx.set_meta("schema", SCHEMA_VERSION)
                tx.set_meta("as_of", "")
        return rebuild

    # -- transactions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        raise NotImplementedError
        yield  # pragma: no cover

    # -- reading (no lock: one statement, one snapshot) ------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params).fetchall())

    def frame(self, sql: str, schema: pl.Schema, params: Sequence[Any] = ()) -> pl.DataFrame:
        raise NotImplementedError

    def meta(self) -> dict[str, str]:
        try:
            return {k: v for k, v in self.query("SELECT key, value FROM stream_meta")}
        except Exception:  # noqa: BLE001 - no table yet: a database no projector has used
            self.rollback()
            return {}

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()

    def table(self, name: str, where: str = "", params: Sequence[Any] = ()) -> pl.DataFrame:
        schema = SCHEMAS[name]
        cols = ", ".join(_q(c) for c in schema)
        return self.frame(f"SELECT {cols} FROM {table_name(name)} {where}", schema, params)

    def events(self, where: str = "", params: Sequence[Any] = ()) -> pl.DataFrame:
        """Rows of `stream_events` (with `seq`), in commit order."""
        schema = pl.Schema([("seq", pl.Int64()), *EVENT_SCHEMA.items()])
        cols = ", ".join(_q(c) for c in schema)
        return self.frame(f"SELECT {cols} FROM stream_events {where} ORDER BY seq", schema, params)

    def events_of(self, agreements: Sequence[str]) -> pl.DataFrame:
        """Every event not about an agreement, and the events of `agreements`."""
        raise NotImplementedError

    def lineage_mates(self, agreements: Sequence[str]) -> list[str]:
        """The agreements sharing a lineage with one of `agreements` (stored continuity)."""
        raise NotImplementedError

    def offsets(self, group: str | None = None) -> pl.DataFrame:
        schema = pl.Schema(
            {
                "grp": pl.String,
                "topic": pl.String,
                "partition": pl.Int64,
                "generation": pl.Int64,
                "next_offset": pl.Int64,
            }
        )
        where, params = ("WHERE grp = " + self.mark, (group,)) if group else ("", ())
        cols = ", ".join(_q(c) for c in schema)
        try:
            return self.frame(f"SELECT {cols} FROM stream_offsets {where}", schema, params)
        except Exception:  # noqa: BLE001 - no table yet: no projector has started here
            self.rollback()
            if self.meta():
                raise
            return pl.DataFrame(schema=schema)


class Tx:
    """One write transaction on the views database, with the lock held."""

    def __init__(self, db: ViewsDB, cursor: Any):
        self.db, self.cur, self.mark = db, cursor, db.mark

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cur.execute(sql, params)

    def meta(self, key: str) -> str | None:
        try:
            row = self.execute(
                f"SELECT value FROM stream_meta WHERE key = {self.mark}", (key,)
            ).fetchone()
        except Exception:  # noqa: BLE001 - first run: no table yet
            return None
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            f"INSERT INTO stream_meta VALUES ({self.mark}, {self.mark}) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def events_after(self, seq: int) -> pl.DataFrame:
        return self.db.events(f"WHERE seq > {int(seq)}")

    def last_seq(self) -> int:
        row = self.execute("SELECT MAX(seq) FROM stream_events").fetchone()
        return int(row[0] or 0)

    def existing(self, identities: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        raise NotImplementedError

    def insert(self, table: str, rows: pl.DataFrame) -> None:
        raise NotImplementedError

    def delete(self, table: str, agreements: pl.Series | None) -> None:
        raise NotImplementedError

    def replace(self, name: str, rows: pl.DataFrame, agreements: pl.Series | None) -> None:
        """The rows of `agreements` (every row when None) become `rows`."""
        self.delete(table_name(name), agreements)
        self.insert(table_name(name), rows.select(SCHEMAS[name].names()))

    def lineage_mates(self, agreements: pl.Series) -> pl.Series:
        """Every agreement sharing a lineage with one of `agreements` (the stored continuity
        rows say which lineage each is in)."""
        raise NotImplementedError

    def offsets(self, group: str, topic: str) -> dict[int, tuple[int, int]]:
        rows = self.execute(
            f'SELECT "partition", generation, next_offset FROM stream_offsets '
            f"WHERE grp = {self.mark} AND topic = {self.mark}",
            (group, topic),
        ).fetchall()
        return {int(p): (int(g), int(o)) for p, g, o in rows}

    def save_offsets(self, group: str, topic: str, offsets: dict[int, tuple[int, int]]) -> None:
        m = self.mark
        for partition, (generation, offset) in offsets.items():
            self.execute(
                f"INSERT INTO stream_offsets VALUES ({m}, {m}, {m}, {m}, {m}) "
                'ON CONFLICT (grp, topic, "partition") DO UPDATE SET '
                "generation = excluded.generation, next_offset = excluded.next_offset",
                (group, topic, partition, generation, offset),
            )


# -- PostgreSQL -----------------------------------------------------------------------------------
class PostgresViews(ViewsDB):
    kind = "postgresql"
    mark = "%s"

    def connect(self) -> None:
        import psycopg

        from infra.store.urls import ensure_store

        ensure_store(self.store)
        s = self.store
        try:
            self.conn = psycopg.connect(
                host=s.host,
                port=s.port,
                user=s.user,
                password=s.password or None,
                dbname=s.dbname,
                connect_timeout=10,
                autocommit=True,
                application_name=f"cledger {os.getpid()}",
            )
        except psycopg.Error as err:
            raise ViewsError(f"cannot reach the views database {s.display}: {err}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            yield PostgresTx(self, cur)

    def frame(self, sql: str, schema: pl.Schema, params: Sequence[Any] = ()) -> pl.DataFrame:
        from psycopg import sql as psql

        statement = psql.SQL(sql.replace("%s", "{}")).format(*(psql.Literal(p) for p in params))
        buffer = io.BytesIO()
        with self.conn.cursor() as cur:
            query = psql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(statement)
            with cur.copy(query) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        return _from_csv(buffer.getvalue(), schema)

    def events_of(self, agreements: Sequence[str]) -> pl.DataFrame:
        return self.events(
            "WHERE subject <> 'agreement' OR subject_id = ANY(%s)", (list(agreements),)
        )

    def lineage_mates(self, agreements: Sequence[str]) -> list[str]:
        rows = self.query(
            "SELECT agreement_id FROM view_continuity WHERE lineage_id IN (SELECT lineage_id "
            "FROM view_continuity WHERE agreement_id = ANY(%s))",
            (list(agreements),),
        )
        return [r[0] for r in rows]


def _from_csv(body: bytes, schema: pl.Schema) -> pl.DataFrame:
    text_schema = pl.Schema({name: pl.String for name in schema})
    if not body:
        return pl.DataFrame(schema=schema)
    raw = pl.read_csv(
        body,
        has_header=False,
        new_columns=list(schema),
        schema=text_schema,
        infer_schema=False,
    )
    return _typed(raw, schema)


def _to_csv(rows: pl.DataFrame) -> bytes:
    return rows.write_csv(include_header=False).encode()


class PostgresTx(Tx):
    def existing(self, identities: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        if not identities:
            return set()
        oids, versions = zip(*identities, strict=True)
        rows = self.execute(
            "SELECT e.originator_id, e.version FROM stream_events e JOIN unnest(%s::text[], "
            "%s::bigint[]) AS i(o, v) ON e.originator_id = i.o AND e.version = i.v",
            (list(oids), list(versions)),
        ).fetchall()
        return {(str(o), int(v)) for o, v in rows}

    def insert(self, table: str, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        cols = ", ".join(_q(c) for c in rows.columns)
        with self.cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(_to_csv(rows))

    def delete(self, table: str, agreements: pl.Series | None) -> None:
        if agreements is None:
            self.execute(f"DELETE FROM {table}")
        elif agreements.len():
            self.execute(
                f"DELETE FROM {table} WHERE agreement_id = ANY(%s)",
                (agreements.cast(pl.String).to_list(),),
            )

    def lineage_mates(self, agreements: pl.Series) -> pl.Series:
        rows = self.execute(
            "SELECT agreement_id FROM view_continuity WHERE lineage_id IN (SELECT lineage_id "
            "FROM view_continuity WHERE agreement_id = ANY(%s))",
            (agreements.cast(pl.String).to_list(),),
        ).fetchall()
        return pl.Series("agreement_id", [r[0] for r in rows], pl.String)


# -- SQLite ---------------------------------------------------------------------------------------
class SQLiteViews(ViewsDB):
    kind = "sqlite"
    mark = "?"

    def connect(self) -> None:
        path = Path(self.store.path).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield SQLiteTx(self, cur)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")

    def frame(self, sql: str, schema: pl.Schema, params: Sequence[Any] = ()) -> pl.DataFrame:
        rows = self.conn.execute(sql, params).fetchall()
        stored = pl.Schema(
            {
                name: pl.Int64
                if dtype == pl.Boolean
                else (pl.String if dtype == pl.Date else dtype)
                for name, dtype in schema.items()
            }
        )
        raw = pl.DataFrame(rows, schema=stored, orient="row")
        return _typed(raw, schema)

    def events_of(self, agreements: Sequence[str]) -> pl.DataFrame:
        return self.events(
            "WHERE subject <> 'agreement' OR subject_id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(agreements)).decode(),),
        )

    def lineage_mates(self, agreements: Sequence[str]) -> list[str]:
        rows = self.query(
            "SELECT agreement_id FROM view_continuity WHERE lineage_id IN (SELECT lineage_id "
            "FROM view_continuity WHERE agreement_id IN (SELECT value FROM json_each(?)))",
            (orjson.dumps(list(agreements)).decode(),),
        )
        return [r[0] for r in rows]


class SQLiteTx(Tx):
    def existing(self, identities: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        for start in range(0, len(identities), 400):
            part = identities[start : start + 400]
            where = " OR ".join(["(originator_id = ? AND version = ?)"] * len(part))
            rows = self.execute(
                f"SELECT originator_id, version FROM stream_events WHERE {where}",
                [x for pair in part for x in pair],
            ).fetchall()
            found.update((str(o), int(v)) for o, v in rows)
        return found

    def insert(self, table: str, rows: pl.DataFrame) -> None:
        if rows.is_empty():
            return
        plain = rows.with_columns(
            pl.col(pl.Date).cast(pl.String), pl.col(pl.Boolean).cast(pl.Int64)
        )
        marks = ",".join("?" * plain.width)
        cols = ", ".join(_q(c) for c in plain.columns)
        self.cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", plain.iter_rows())

    def _ids(self, agreements: pl.Series) -> None:
        self.execute("CREATE TEMP TABLE IF NOT EXISTS _ids (id TEXT PRIMARY KEY)")
        self.execute("DELETE FROM _ids")
        self.cur.executemany(
            "INSERT OR IGNORE INTO _ids VALUES (?)",
            [(a,) for a in agreements.cast(pl.String).to_list()],
        )

    def delete(self, table: str, agreements: pl.Series | None) -> None:
        if agreements is None:
            self.execute(f"DELETE FROM {table}")
        elif agreements.len():
            self._ids(agreements)
            self.execute(f"DELETE FROM {table} WHERE agreement_id IN (SELECT id FROM _ids)")

    def lineage_mates(self, agreements: pl.Series) -> pl.Series:
        self._ids(agreements)
        rows = self.execute(
            "SELECT agreement_id FROM view_continuity WHERE lineage_id IN (SELECT lineage_id "
            "FROM view_continuity WHERE agreement_id IN (SELECT id FROM _ids))"
        ).fetchall()
        return pl.Series("agreement_id", [r[0] for r in rows], pl.String)


def today() -> dt.date:
    """The day the views are "as of": the local date, as `--as-of` defaults to."""
    return dt.date.today()
