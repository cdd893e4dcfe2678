"""The bulk loader of the event frame, with a Parquet cache kept up to date from the log.

Why not replay: views need every event, not aggregates; reading `stored_events` a page at a time
(one query per page) and decoding the library's JSON `state` with polars is many times faster
than rebuilding events one by one in Python. Why a cache: the notification log only grows, so
a CLI call after the first reads just the new notifications and appends them as one more Parquet
part (parts are compacted now and then). A cache whose last row no longer matches the store (the
store was replaced) is rebuilt.

The cache lives beside a SQLite file (`ledger.db.frame/`), or for PostgreSQL under
`$CLEDGER_CACHE_DIR` (default `~/.cache/cledger`) in a folder named after the store URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from eventsourcing.utils import get_topic

from domain.agreements import Agreement
from domain.catalogue import CATALOGUE, CORRECTION_TYPES
from domain.ledger import Ledger
from domain.organisations import Commissioner, Provider
from domain.portfolios import Portfolio
from domain.subjects import LedgerSubject
from infra.store.urls import StoreURL, configured_store, parse_store_url
from projections.frame import (
    EVENT_SCHEMA,
    Amended,
    amended,
    decode_stored,
    empty_frame,
    resolve_targets,
)
from projections.frame import (
    in_force as corrections_applied,
)

PAGE = 250_000
Page = tuple[tuple[int, ...], tuple[str, ...], tuple[bytes, ...]]
MAX_PARTS = 12
STALE_GRACE = 600.0  # seconds a compacted-away part is kept for readers still scanning it
# parts hold their rows grouped by event type, in row groups this small, so that a view's scan
# of one family skips (by the row groups' statistics) the rows of every other type
ROW_GROUP = 32_768
CACHE_VERSION = "2:" + hashlib.sha1(repr(EVENT_SCHEMA).encode()).hexdigest()[:12]


def native_topics() -> list[str]:
    """The stored topics of native events: each catalogue type on each subject class. Anything
    else in the log (`Opened`, `Assigned`, `Received`, `ReceiptRescinded`) is book-keeping."""
    topics = []
    for cls in (Agreement, Provider, Commissioner, Portfolio):
        for name in CATALOGUE:
            event_class = cls.__dict__.get(name)
            if isinstance(event_class, type) and issubclass(event_class, LedgerSubject.Recorded):
                topics.append(get_topic(event_class))
    return topics


def store_of(source: Ledger | str | None) -> StoreURL:
    """The store a ledger was opened on, or a store URL (None: the configured default)."""
    if isinstance(source, Ledger):
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
    return parse_store_url(configured_store(source))


def events_table(store: StoreURL) -> str:
    """The library names the table after the application on PostgreSQL, not on SQLite."""
    return "stored_events" if store.kind == "sqlite" else f"{Ledger.name.lower()}_events"


# -- reading the log -----------------------------------------------------------------------------
class LogReader:
    """Pages of native rows after a notification id, all from one read transaction."""

    def __init__(self, store: StoreURL, page: int = PAGE):
        self.store, self.page = store, page
        self.topics = native_topics()
        self.table = events_table(store)

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        if self.store.kind == "sqlite":
            uri = Path(self.store.path).expanduser().resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True)
            try:
                conn.execute("BEGIN")  # one snapshot for every page
                yield conn.cursor()
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(
            host=self.store.host,
            port=self.store.port,
            user=self.store.user,
            password=self.store.password or None,
            dbname=self.store.dbname,
            connect_timeout=10,
        ) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
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


# -- the cache -----------------------------------------------------------------------------------
def cache_dir_for(store: StoreURL, cache_root: str | os.PathLike[str] | None = None) -> Path:
    if store.kind == "sqlite" and cache_root is None:
        db = Path(store.path).expanduser().resolve()
        return db.with_name(db.name + ".frame")
    root = Path(
        cache_root or os.environ.get("CLEDGER_CACHE_DIR") or Path.home() / ".cache" / "cledger"
    )
    key = hashlib.sha256(store.display.encode()).hexdigest()[:16]
    return root / f"{store.dbname or Path(store.path).name}-{key}.frame"


@dataclass
class Manifest:
    version: str = CACHE_VERSION
    parts: list[str] = field(default_factory=list)
    last_id: int = 0
    last_identity: str | None = None
    # what the corrections known now do to the frame (`projections.frame.Amended`): the rows
    # they drop, and a part holding the corrected rows
    dropped: list[int] = field(default_factory=list)
    amended: str | None = None

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        try:
            raw = json.loads((folder / "manifest.json").read_text())
            found = cls(**raw)
        except (OSError, ValueError, TypeError):
            return None
        files = [*found.parts, *([found.amended] if found.amended else [])]
        if found.version != CACHE_VERSION or not all((folder / p).exists() for p in files):
            return None
        return found

    def write(self, folder: Path) -> None:
        _atomic_write(folder / "manifest.json", json.dumps(self.__dict__).encode())


def _atomic_write(path: Path, body: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    os.replace(tmp, path)


def _write_part(folder: Path, frame: pl.DataFrame, name: str) -> None:
    """One Parquet part, its rows grouped by type (log order within a type): a family's scan
    then reads the row groups of its own types only. The frame's rows carry no order of their
    own (views order by the timeline), so the layout is the cache's to choose."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    # partition and concatenate: a gather per type, far cheaper than sorting the wide rows
    grouped = pl.concat(frame.partition_by("type", maintain_order=True)) if frame.height else frame
    grouped.write_parquet(tmp, compression="lz4", statistics=True, row_group_size=ROW_GROUP)
    os.replace(tmp, folder / name)


class FrameStore:
    """The event frame of one store, cached as Parquet parts and refreshed from the log."""

    def __init__(
        self,
        source: Ledger | str | None,
        *,
        cache: bool = True,
        cache_root: str | os.PathLike[str] | None = None,
        page: int = PAGE,
    ):
        self.store = store_of(source)
        self.reader = LogReader(self.store, page)
        self.cache = cache
        self.folder = cache_dir_for(self.store, cache_root)
        self.last_read = 0  # native rows read from the store by the last `load`

    def load(self) -> pl.DataFrame:
        """The whole event frame, reading only notifications newer than the cache."""
        manifest = Manifest.read(self.folder) if self.cache else None
        with self.reader.session() as cur:
            if manifest is not None and self.reader.identity(cur, manifest.last_id) != (
                manifest.last_identity
            ):
                manifest = None  # the store is not the one cached: start again
            prior = empty_frame()
            if manifest is not None:
                try:
                    prior = self._read_parts(manifest.parts)
                except (OSError, pl.exceptions.PolarsError):
                    manifest = None  # compacted away by another process meanwhile: read all
            after = manifest.last_id if manifest else 0
            new = [decode_stored(*page) for page in self.reader.pages(cur, after)]
            fresh = resolve_targets(pl.concat(new), prior) if new else empty_frame()
            self.last_read = fresh.height
            if self.cache and (fresh.height or manifest is None):
                last_id = int(fresh["notification_id"].max()) if fresh.height else after
                identity = self.reader.identity(cur, last_id) if last_id else None
                self._save(manifest, prior, fresh, last_id, identity)
        return pl.concat([prior, fresh]) if fresh.height else prior

    def scan(self, *, in_force: bool = False) -> pl.LazyFrame:
        """The event frame as a lazy scan of the cache, brought up to date first: a view then
        reads only the columns it uses from the Parquet parts, not the whole frame. Without a
        usable cache (turned off, or a place that cannot be written) the frame is loaded whole.

        With `in_force`, the corrections known now are applied (`projections.frame.in_force`),
        from their effect as the cache keeps it: for views of the events in force as the
        ledger stands (not as known at an earlier time, not the corrections themselves), which
        then need not look the corrections and their targets up on every call."""
        current = self._current() if self.cache else None
        if current is None:
            frame = self.load()
            current = self._current() if self.cache else None
            if current is None:
                return corrections_applied(frame.lazy()) if in_force else frame.lazy()
        scan = self._scan_parts(current)
        if not in_force:
            return scan
        replaced = empty_frame()
        if current.amended is not None:
            try:
                replaced = self._read_parts([current.amended])
            except (OSError, pl.exceptions.PolarsError):
                return corrections_applied(scan)  # compacted away by another process meanwhile
        return Amended(pl.Series(current.dropped, dtype=pl.Int64), replaced).apply(scan)

    def _current(self) -> Manifest | None:
        """The cache's manifest when it holds every native event of the store."""
        manifest = Manifest.read(self.folder)
        if manifest is None or not manifest.parts:
            return None
        with self.reader.session() as cur:
            if self.reader.identity(cur, manifest.last_id) != manifest.last_identity:
                return None
            if next(self.reader.pages(cur, manifest.last_id, limit=1), None) is not None:
                return None
        return manifest

    def _scan_parts(self, manifest: Manifest) -> pl.LazyFrame:
        self.last_read = 0
        # prefiltered: a filter's columns are read first, the others only for the rows kept
        scan = pl.scan_parquet([self.folder / p for p in manifest.parts], parallel="prefiltered")
        if scan.collect_schema() == EVENT_SCHEMA:
            return scan  # no cast: it would keep filters from reaching the reader
        return scan.cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]

    def _read_parts(self, parts: list[str]) -> pl.DataFrame:
        if not parts:
            return empty_frame()
        frame = pl.read_parquet([self.folder / p for p in parts])
        return frame.cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]

    def _save(
        self,
        manifest: Manifest | None,
        prior: pl.DataFrame,
        fresh: pl.DataFrame,
        last_id: int,
        identity: str | None,
    ) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            parts = list(manifest.parts) if manifest else []
            whole = pl.concat([prior, fresh])  # `prior` is empty without a manifest
            if len(parts) >= MAX_PARTS or not manifest:
                # compact: one part holding everything
                name = f"frame-{last_id:012d}-all.parquet"
                _write_part(self.folder, whole, name)
                for old in parts:  # compacted away now: the grace period starts now
                    with contextlib.suppress(OSError):
                        os.utime(self.folder / old)
                parts = [name]
            else:
                name = f"frame-{last_id:012d}.parquet"
                _write_part(self.folder, fresh, name)
                parts = [*parts, name]
            if manifest and not fresh["type"].is_in(list(CORRECTION_TYPES)).any():
                # no new correction: an amendment names an event recorded before it, so what
                # the known ones do is unchanged
                dropped, corrected = manifest.dropped, manifest.amended
            else:
                effect = amended(whole.lazy())
                dropped, corrected = effect.dropped.to_list(), None
                if not effect.replaced.is_empty():
                    corrected = f"amended-{last_id:012d}.parquet"
                    _write_part(self.folder, effect.replaced, corrected)
            Manifest(
                parts=parts,
                last_id=last_id,
                last_identity=identity,
                dropped=dropped,
                amended=corrected,
            ).write(self.folder)
            _sweep(self.folder, keep={*parts, *([corrected] if corrected else [])})
        except OSError:
            pass  # a read-only place: the frame is still right, only not cached


def _sweep(folder: Path, keep: set[str], grace: float = STALE_GRACE) -> None:
    """Remove parts compacted away more than `grace` seconds ago: a lazy scan planned by
    another process just before the compaction may still be reading them."""
    now = time.time()
    for part in [*folder.glob("frame-*.parquet"), *folder.glob("amended-*.parquet")]:
        if part.name not in keep and now - part.stat().st_mtime > grace:
            part.unlink(missing_ok=True)


def load_event_frame(
    source: Ledger | str | None = None,
    *,
    cache: bool = True,
    cache_root: str | os.PathLike[str] | None = None,
) -> pl.DataFrame:
    """The event frame of a ledger or store URL (one bulk query per page, decoded by polars)."""
    return FrameStore(source, cache=cache, cache_root=cache_root).load()


def scan_event_frame(
    source: Ledger | str | None = None,
    *,
    cache_root: str | os.PathLike[str] | None = None,
    in_force: bool = False,
) -> pl.LazyFrame:
    """The event frame of a ledger or store URL as a lazy scan of its up-to-date cache (what
    the CLI's views read: only the columns a view uses are read); `in_force`: corrections
    known now applied (`FrameStore.scan`)."""
    return FrameStore(source, cache_root=cache_root).scan(in_force=in_force)
