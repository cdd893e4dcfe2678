"""The relay's side of the event store: the notification log read in order, and the relay's
position kept beside it.

Why reading `> position` in order is enough (no id is skipped when a slower writer commits
later): on PostgreSQL the library's recorder (and ours, `infra.store.recorders`) takes an
EXCLUSIVE lock on the events table before the insert draws notification ids from the sequence,
and holds it to commit, so transactions receive ids in the order they commit: once id N is
visible, every smaller id that will ever exist is visible too (ids drawn by a rolled-back
transaction never appear: a gap, not a late arrival). SQLite has one writer at a time and
assigns rowids under its write lock, in commit order. `tests/test_stream_log.py` runs two
writers at once, one slowed inside its transaction, and checks the relay's reads miss nothing.

Why the position lives in the store's own database (table `cledger_relay_positions`): it
describes that log and nothing else, so it travels with it (a store restored from a backup
brings back a position no later than its log, so the relay re-sends rather than skips); it
needs no second place to back up, and PostgreSQL stores have no folder "beside" them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from domain.agreements import Agreement
from domain.catalogue import CATALOGUE, SUBJECT_FIELD
from domain.organisations import Commissioner, Provider
from domain.portfolios import Portfolio
from domain.subjects import LedgerSubject
from infra.store.frame_cache import events_table
from infra.store.urls import StoreURL, parse_store_url

POSITIONS = "cledger_relay_positions"


@dataclass(frozen=True)
class StoredRow:
    """One native event as the store holds it."""

    notification_id: int
    originator_id: str  # canonical UUID text
    version: int
    topic: str
    state: bytes


def native_topic_map() -> dict[str, tuple[str, str]]:
    """Stored topic -> (subject kind, event type), for every catalogue type on each subject
    class: what the relay publishes. Anything else in the log is book-keeping."""
    found: dict[str, tuple[str, str]] = {}
    for cls in (Agreement, Provider, Commissioner, Portfolio):
        for name in CATALOGUE:
            event_class = cls.__dict__.get(name)
            if isinstance(event_class, type) and issubclass(event_class, LedgerSubject.Recorded):
                found[f"{event_class.__module__}:{event_class.__qualname__}"] = (cls.SUBJECT, name)
    return found


@dataclass(frozen=True)
class Position:
    """Where the relay stands: the last notification id known acknowledged by the broker,
    the generation of the topic's contents (raised by each replay from the start), and the
    last acknowledged offset per partition (an offset going back means the topic was lost)."""

    notification_id: int = 0
    generation: int = 1
    offsets: dict[int, int] | None = None


def _canonical(originator_id: Any) -> str:
    """The UUID's canonical text (SQLite keeps 32 hex digits, PostgreSQL a uuid)."""
    if isinstance(originator_id, uuid.UUID):
        return str(originator_id)
    h = originator_id.replace("-", "").lower()
    if len(h) != 32:
        return str(uuid.UUID(originator_id))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class StoreLog:
    """A connection to the store for the relay: pages of the log, lookups, the position."""

    def __init__(self, url: str):
        self.store: StoreURL = parse_store_url(url)
        self.table = events_table(self.store)
        self.topics = native_topic_map()
        self._conn: Any = None

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        if self.store.kind == "sqlite":
            path = Path(self.store.path).expanduser().resolve()
            if not path.exists():
                raise FileNotFoundError(f"no store at {path}")
            self._conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        else:
            import psycopg

            self._conn = psycopg.connect(**self.pg_params(), autocommit=True)
        self._ensure_positions()
        return self._conn

    def pg_params(self) -> dict[str, Any]:
        s = self.store
        return {
            "host": s.host,
            "port": s.port,
            "user": s.user,
            "password": s.password or None,
            "dbname": s.dbname,
            "connect_timeout": 10,
        }

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _ensure_positions(self) -> None:
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {POSITIONS} (cluster TEXT NOT NULL, topic TEXT NOT NULL, "
            "notification_id BIGINT NOT NULL, generation BIGINT NOT NULL, offsets TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, PRIMARY KEY (cluster, topic))"
        )

    # -- the log -------------------------------------------------------------------------------
    def page(self, after: int, limit: int) -> list[StoredRow]:
        """Native rows with notification id > `after`, in log order, at most `limit`."""
        conn = self.connect()
        topics = list(self.topics)
        if self.store.kind == "sqlite":
            marks = ",".join("?" * len(topics))
            rows = conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM "
                f"{self.table} WHERE rowid > ? AND topic IN ({marks}) ORDER BY rowid LIMIT ?",
                (after, *topics, limit),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM "
                f"{self.table} WHERE notification_id > %s AND topic = ANY(%s) "
                "ORDER BY notification_id LIMIT %s",
                (after, topics, limit),
            ).fetchall()
        return [StoredRow(r[0], _canonical(r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def last_id(self) -> int:
        """The newest notification id in the log (0 when empty): how far there is to go."""
        conn = self.connect()
        column = "rowid" if self.store.kind == "sqlite" else "notification_id"
        row = conn.execute(f"SELECT MAX({column}) FROM {self.table}").fetchone()
        return int(row[0] or 0)

    def count_after(self, after: int) -> int:
        """How many native events the log holds after `after` (for progress and lag)."""
        conn = self.connect()
        topics = list(self.topics)
        if self.store.kind == "sqlite":
            marks = ",".join("?" * len(topics))
            row = conn.execute(
                f"SELECT COUNT(*) FROM {self.table} WHERE rowid > ? AND topic IN ({marks})",
                (after, *topics),
            ).fetchone()
        else:
            row = conn.execute(
                f"SELECT COUNT(*) FROM {self.table} WHERE notification_id > %s AND topic = ANY(%s)",
                (after, topics),
            ).fetchone()
        return int(row[0])

    def subjects_of(self, originator_ids: Sequence[str]) -> dict[str, str]:
        """originator id -> the subject id its first event names (an award's agreement id, a
        registration's provider id...): for a correction whose payload names no subject."""
        if not originator_ids:
            return {}
        conn = self.connect()
        wanted = list(dict.fromkeys(originator_ids))
        if self.store.kind == "sqlite":
            marks = ",".join("?" * len(wanted))
            rows = conn.execute(
                f"SELECT originator_id, topic, state FROM {self.table} WHERE "
                f"originator_version = 1 AND originator_id IN ({marks})",
                [uuid.UUID(o).hex for o in wanted],
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT originator_id, topic, state FROM {self.table} WHERE "
                "originator_version = 1 AND originator_id = ANY(%s)",
                ([uuid.UUID(o) for o in wanted],),
            ).fetchall()
        found = {}
        for oid, topic, state in rows:
            kind = self.topics.get(topic, ("", ""))[0]
            data = orjson.loads(bytes(state)).get("data") or {}
            key = SUBJECT_FIELD.get(kind)
            if key and data.get(key) is not None:
                found[_canonical(oid)] = str(data[key])
        return found

    # -- the relay's position -----------------------------------------------------------------
    def load_position(self, cluster: str, topic: str) -> Position | None:
        conn = self.connect()
        mark = "?" if self.store.kind == "sqlite" else "%s"
        row = conn.execute(
            f"SELECT notification_id, generation, offsets FROM {POSITIONS} "
            f"WHERE cluster = {mark} AND topic = {mark}",
            (cluster, topic),
        ).fetchone()
        if row is None:
            return None
        offsets = {int(k): int(v) for k, v in orjson.loads(row[2]).items()}
        return Position(int(row[0]), int(row[1]), offsets)

    def save_position(self, cluster: str, topic: str, position: Position) -> None:
        """Upsert in one statement: atomic on both stores."""
        conn = self.connect()
        mark = "?" if self.store.kind == "sqlite" else "%s"
        offsets = orjson.dumps({str(k): v for k, v in (position.offsets or {}).items()}).decode()
        values = (
            cluster,
            topic,
            position.notification_id,
            position.generation,
            offsets,
            dt.datetime.now(dt.UTC).isoformat(),
        )
        conn.execute(
            f"INSERT INTO {POSITIONS} VALUES ({','.join([mark] * 6)}) "
            "ON CONFLICT (cluster, topic) DO UPDATE SET "
            "notification_id = excluded.notification_id, generation = excluded.generation, "
            "offsets = excluded.offsets, updated_at = excluded.updated_at",
            values,
        )

    def positions(self) -> list[tuple[str, str, Position]]:
        """Every relay position kept in this store (for `cledger lag`)."""
        conn = self.connect()
        rows = conn.execute(
            f"SELECT cluster, topic, notification_id, generation, offsets FROM {POSITIONS}"
        ).fetchall()
        return [
            (
                r[0],
                r[1],
                Position(
                    int(r[2]), int(r[3]), {int(k): int(v) for k, v in orjson.loads(r[4]).items()}
                ),
            )
            for r in rows
        ]

    # -- waiting for news ---------------------------------------------------------------------
    @contextlib.contextmanager
    def news(self) -> Iterator[Any]:
        """A callable `wait(seconds)` that returns early when a writer commits (PostgreSQL's
        NOTIFY on the events table, which the library's recorder sends with every insert);
        on SQLite it just sleeps."""
        if self.store.kind == "sqlite":
            import time

            yield time.sleep
            return
        import psycopg

        listener = psycopg.connect(**self.pg_params(), autocommit=True)
        try:
            listener.execute(f'LISTEN "{self.table.replace(".", "_")}"')

            def wait(seconds: float) -> None:
                for _ in listener.notifies(timeout=seconds, stop_after=1):
                    pass

            yield wait
        finally:
            listener.close()
