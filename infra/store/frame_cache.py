"""The event frame of a store, cached as Parquet parts and kept up to date from the log.

Why a cache: the notification log only grows, so a call after the first reads just the new
notifications (`infra.store.log_reader`) and writes them as one more part, without reading the
parts already written: the cost of a refresh follows the batch, not the ledger. A cold first call
streams the store into parts a page at a time, so its memory follows the page, not the ledger.

The parts (`frame-<last id>.parquet`) hold the native events but the corrections and
rescissions, which are few and live in one small part of their own (`amendments-*.parquet`),
rewritten when new ones arrive: that is where their subjects and targets are resolved (a
correction may name an event of any earlier part), and where what they do to the frame (the
rows they drop and replace, `amended-*.parquet`) is worked out again, reading only the
amendments and the row groups of their targets. Small parts are merged now and then.

A cache that cannot be used (a part missing, truncated or changed, the manifest unreadable or
from another version, listing no parts, or ahead of the store, as when the store was replaced) is
set aside (`<cache>.set-aside`) and rebuilt from the store, with one warning line on stderr:
never an empty answer, never a lasting failure. Each part's size, modification time and CRC-32
are in the manifest; a part whose time changed has its checksum verified.

The cache lives beside a SQLite file (`ledger.db.frame/`), or for PostgreSQL under
`$CLEDGER_CACHE_DIR` (default `~/.cache/cledger`) in a folder named after the store URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from domain.catalogue import CORRECTION_TYPES
from infra.store.log_reader import LogReader, Page, events_table, native_topics, store_of
from infra.store.urls import StoreURL
from projections.frame import (
    EVENT_SCHEMA,
    Amended,
    amended,
    decode_stored,
    empty_frame,
    resolve_targets,
)
from projections.frame import in_force as corrections_applied

if TYPE_CHECKING:
    from domain.ledger import Ledger

__all__ = [
    "PAGE",
    "FrameStore",
    "LogReader",
    "events_table",
    "load_event_frame",
    "native_topics",
    "scan_event_frame",
    "store_of",
]

MAX_PARTS = 12  # more parts than this: the small ones are merged
SMALL = 50_000  # parts with fewer rows are merged; a first load's parts never are
# a first load reads the log PAGE rows at a time (the stored JSON is the bulk of its memory) and
# writes a part every PART_ROWS decoded rows (compact in memory; fewer, larger parts scan faster)
PART_ROWS = 200_000
STALE_GRACE = 600.0  # seconds a merged-away part is kept for readers still scanning it
# parts hold their rows grouped by event type, in row groups this small, so that a view's scan
# of one family skips (by the row groups' statistics) the rows of every other type
ROW_GROUP = 32_768
CACHE_VERSION = "3:" + hashlib.sha1(repr(EVENT_SCHEMA).encode()).hexdigest()[:12]
_IS_AMENDMENT = pl.col("type").is_in(list(CORRECTION_TYPES))


PAGE = 100_000


class CacheBroken(Exception):
    """Why a cache cannot be used (the message completes "the frame cache at PATH ...")."""


# -- the manifest --------------------------------------------------------------------------------
@dataclass
class Part:
    """One Parquet file of the cache, as written: checked before every read."""

    name: str
    rows: int
    size: int
    mtime_ns: int
    crc32: int

    @classmethod
    def of(cls, path: Path, rows: int) -> Part:
        stat = path.stat()
        return cls(path.name, rows, stat.st_size, stat.st_mtime_ns, _crc32(path))

    def check(self, folder: Path) -> bool:
        """Raise `CacheBroken` if the file is not the one written; True when it was verified
        afresh (its time changed, its content did not) and the manifest should say so."""
        try:
            stat = (folder / self.name).stat()
        except OSError:
            raise CacheBroken(f"has lost its part {self.name}") from None
        if stat.st_size != self.size:
            raise CacheBroken(f"holds a truncated or changed part {self.name}")
        if stat.st_mtime_ns == self.mtime_ns:
            return False
        if _crc32(folder / self.name) != self.crc32:
            raise CacheBroken(f"holds a corrupted part {self.name}")
        self.mtime_ns = stat.st_mtime_ns
        return True


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
    return crc


@dataclass
class Manifest:
    """What the cache holds: its parts, the last notification read (and which stored event
    that was, to see the store was replaced), and what the corrections known now do."""

    parts: list[Part] = field(default_factory=list)
    last_id: int = 0
    last_identity: str | None = None
    amendments: Part | None = None  # the corrections and rescissions, resolved
    dropped: list[int] = field(default_factory=list)  # rows the corrections remove ...
    amended: Part | None = None  # ... and the corrected rows that replace them
    version: str = CACHE_VERSION

    @property
    def files(self) -> list[Part]:
        return [*self.parts, *(p for p in (self.amendments, self.amended) if p is not None)]

    @property
    def frame_files(self) -> list[Part]:
        """The parts that together are the event frame."""
        return [*self.parts, *([self.amendments] if self.amendments else [])]

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The manifest (None when there is none yet); `CacheBroken` when it cannot be used."""
        path = folder / "manifest.json"
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            if folder.is_dir() and any(folder.glob("*.parquet")):
                raise CacheBroken("has parts but no manifest") from None
            return None
        except OSError as err:
            raise CacheBroken(f"cannot be read ({err.strerror})") from None
        try:
            raw = json.loads(text)
            if raw.get("version") != CACHE_VERSION:
                raise CacheBroken("was written by another version of cledger")
            found = cls(
                parts=[Part(**p) for p in raw["parts"]],
                last_id=int(raw["last_id"]),
                last_identity=raw["last_identity"],
                amendments=Part(**raw["amendments"]) if raw["amendments"] else None,
                dropped=[int(i) for i in raw["dropped"]],
                amended=Part(**raw["amended"]) if raw["amended"] else None,
            )
        except CacheBroken:
            raise
        except (ValueError, TypeError, KeyError, AttributeError):
            raise CacheBroken("has a broken manifest") from None
        if not found.parts:
            raise CacheBroken("has a manifest that lists no parts")
        return found

    def checked(self, folder: Path) -> Manifest:
        """This manifest once every file it names is as written (`CacheBroken` otherwise); a
        file verified afresh is recorded, so it is not verified again."""
        if any([p.check(folder) for p in self.files]):
            with contextlib.suppress(OSError):
                self.write(folder)
        return self

    def write(self, folder: Path) -> None:
        _atomic_write(folder / "manifest.json", json.dumps(asdict(self)).encode())


def _atomic_write(path: Path, body: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    os.replace(tmp, path)


def _write_part(folder: Path, frame: pl.DataFrame, name: str) -> Part:
    """One Parquet part, its rows grouped by type (log order within a type): a family's scan
    then reads the row groups of its own types only. The frame's rows carry no order of their
    own (views order by the timeline), so the layout is the cache's to choose."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    # partition and concatenate: a gather per type, far cheaper than sorting the wide rows
    grouped = pl.concat(frame.partition_by("type", maintain_order=True)) if frame.height else frame
    grouped.write_parquet(tmp, compression="lz4", statistics=True, row_group_size=ROW_GROUP)
    os.replace(tmp, folder / name)
    return Part.of(folder / name, frame.height)


def _merge_parts(folder: Path, parts: list[Part], name: str) -> Part:
    """Small parts as one, streamed (memory follows a row group, not the parts)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    pl.scan_parquet([folder / p.name for p in parts]).sink_parquet(
        tmp, compression="lz4", statistics=True, row_group_size=ROW_GROUP
    )
    os.replace(tmp, folder / name)
    return Part.of(folder / name, sum(p.rows for p in parts))


# -- the store's frame ---------------------------------------------------------------------------
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
        self.last_read = 0  # native rows read from the store by the last refresh

    def load(self) -> pl.DataFrame:
        """The whole event frame in log order, reading only notifications newer than the
        cache."""
        manifest = self.refresh() if self.cache else None
        if manifest is None:
            return self._in_memory()
        return self._scan_parts(manifest).collect().sort("notification_id")

    def scan(self, *, in_force: bool = False) -> pl.LazyFrame:
        """The event frame as a lazy scan of the cache, brought up to date first: a view then
        reads only the columns it uses from the Parquet parts, not the whole frame. Without a
        usable cache (turned off, or a place that cannot be written) the frame is loaded whole.

        With `in_force`, the corrections known now are applied (`projections.frame.in_force`),
        from their effect as the cache keeps it: for views of the events in force as the
        ledger stands (not as known at an earlier time, not the corrections themselves), which
        then need not look the corrections and their targets up on every call."""
        manifest = self.refresh() if self.cache else None
        if manifest is None:
            frame = self._in_memory().lazy()
            return corrections_applied(frame) if in_force else frame
        scan = self._scan_parts(manifest)
        if not in_force:
            return scan
        replaced = empty_frame()
        if manifest.amended is not None:
            replaced = self._read([manifest.amended])
        return Amended(pl.Series(manifest.dropped, dtype=pl.Int64), replaced).apply(scan)

    # -- bringing the cache up to date -----------------------------------------------------------
    def refresh(self) -> Manifest | None:
        """The cache's manifest once it holds every native event of the store (None when the
        cache's place cannot be written). A cache that cannot be used is set aside and
        rebuilt, with one warning line on stderr."""
        with self.reader.session() as cur:
            try:
                manifest = self._checked(cur)
            except CacheBroken:
                manifest = None  # judged again under the lock: a writer may be at work
            if manifest is not None and not self._has_new(cur, manifest):
                self.last_read = 0
                return manifest
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                with _locked(self.folder):
                    manifest = self._usable(cur)
                    if manifest is not None and not self._has_new(cur, manifest):
                        self.last_read = 0  # another process brought it up to date meanwhile
                        return manifest
                    self.folder.mkdir(parents=True, exist_ok=True)  # if set aside just now
                    return self._bring_up_to_date(cur, manifest)
            except OSError:
                return None  # a read-only place: the frame is still right, only not cached

    def _checked(self, cur: Any) -> Manifest | None:
        """The manifest if the cache can be used as it is, None if there is none yet;
        `CacheBroken` says why it cannot be used."""
        manifest = Manifest.read(self.folder)
        if manifest is None:
            return None
        manifest.checked(self.folder)
        if self.reader.identity(cur, manifest.last_id) != manifest.last_identity:
            raise CacheBroken("does not match the store (replaced, or ahead of its log)")
        return manifest

    def _usable(self, cur: Any) -> Manifest | None:
        """`_checked`, a cache that cannot be used set aside (then None: build it anew)."""
        try:
            return self._checked(cur)
        except CacheBroken as why:
            self._set_aside(str(why))
            return None

    def _has_new(self, cur: Any, manifest: Manifest) -> bool:
        return next(self.reader.pages(cur, manifest.last_id, limit=1), None) is not None

    def _set_aside(self, why: str) -> None:
        aside = self.folder.with_name(self.folder.name + ".set-aside")
        try:
            shutil.rmtree(aside, ignore_errors=True)
            self.folder.rename(aside)
            kept = f"set aside as {aside}"
        except OSError:
            shutil.rmtree(self.folder, ignore_errors=True)
            kept = "removed"
        sys.stderr.write(
            f"warning: the frame cache at {self.folder} {why}; {kept}, and rebuilt from the store\n"
        )
        sys.stderr.flush()

    def _bring_up_to_date(self, cur: Any, manifest: Manifest | None) -> Manifest:
        """Write the log's new native events as parts, a page at a time, without reading the
        parts already written; then the amendments' part and their effect, if any arrived."""
        old = manifest or Manifest()
        parts, last_id, read = list(old.parts), old.last_id, 0
        fresh_amendments: list[pl.DataFrame] = []
        pending: list[pl.DataFrame] = []  # decoded pages not yet written: up to PART_ROWS
        for page in self.reader.pages(cur, old.last_id):
            events = _decode(page)
            read += events.height
            last_id = page[0][-1]
            is_amendment = events["type"].is_in(list(CORRECTION_TYPES))
            if is_amendment.any():
                fresh_amendments.append(events.filter(is_amendment))
                events = events.filter(~is_amendment)
            pending.append(events)
            if sum(p.height for p in pending) >= PART_ROWS:
                parts.append(_write_part(self.folder, pl.concat(pending), _part_name(last_id)))
                pending = []
        if pending:
            parts.append(_write_part(self.folder, pl.concat(pending), _part_name(last_id)))
        if not parts:  # an empty store: one empty part, so that a manifest always lists one
            parts.append(_write_part(self.folder, empty_frame(), _part_name(last_id)))
        self.last_read = read
        merged = _merge_small(self.folder, parts, last_id)
        latest = Manifest(
            parts=merged,
            last_id=last_id,
            last_identity=self.reader.identity(cur, last_id) if last_id else None,
            amendments=old.amendments,
            dropped=old.dropped,
            amended=old.amended,
        )
        if fresh_amendments:
            self._amend(latest, old, pl.concat(fresh_amendments), last_id)
        latest.write(self.folder)
        _sweep(self.folder, keep={p.name for p in latest.files})
        return latest

    def _amend(self, latest: Manifest, old: Manifest, fresh: pl.DataFrame, last_id: int) -> None:
        """The new corrections and rescissions joined to the known ones, their subjects and
        targets resolved (a target may be in any part: looked up by id, reading the event ids
        and only the rows that match), and what they all do to the frame worked out again."""
        known = self._read([old.amendments]) if old.amendments else empty_frame()
        lost = pl.col("subject_id").is_null() | pl.col("target_notification_id").is_null()
        unresolved = fresh.filter(lost)
        if unresolved.height:
            targets = unresolved["target_id"].unique().implode()
            found = (
                self._scan_files(latest.parts)
                .filter(pl.col("event_id").is_in(targets))
                .select("event_id", "subject_id", "notification_id")
                .collect()
            )
            prior = pl.concat([found, known.select(found.columns)])
            prior = pl.concat([prior, fresh.filter(~lost).select(found.columns)])
            fresh = pl.concat([fresh.filter(~lost), resolve_targets(unresolved, prior)])
        everything = pl.concat([known, fresh]).select(EVENT_SCHEMA.names())
        latest.amendments = _write_part(
            self.folder, everything, f"amendments-{last_id:012d}.parquet"
        )
        effect = amended(self._scan_files(latest.frame_files))
        latest.dropped = effect.dropped.to_list()
        latest.amended = None
        if not effect.replaced.is_empty():
            name = f"amended-{last_id:012d}.parquet"
            latest.amended = _write_part(self.folder, effect.replaced, name)

    # -- reading ---------------------------------------------------------------------------------
    def _in_memory(self) -> pl.DataFrame:
        """The whole frame read from the store, for a cache that is off or cannot be written."""
        frames: list[pl.DataFrame] = []
        with self.reader.session() as cur:
            for page in self.reader.pages(cur, 0):
                prior = pl.concat(frames) if frames else None
                frames.append(resolve_targets(_decode(page), prior))
        self.last_read = sum(f.height for f in frames)
        return pl.concat(frames) if frames else empty_frame()

    def _scan_parts(self, manifest: Manifest) -> pl.LazyFrame:
        return self._scan_files(manifest.frame_files)

    def _scan_files(self, parts: list[Part]) -> pl.LazyFrame:
        # prefiltered: a filter's columns are read first, the others only for the rows kept
        scan = pl.scan_parquet([self.folder / p.name for p in parts], parallel="prefiltered")
        if scan.collect_schema() == EVENT_SCHEMA:
            return scan  # no cast: it would keep filters from reaching the reader
        return scan.cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]

    def _read(self, parts: list[Part]) -> pl.DataFrame:
        frame = pl.read_parquet([self.folder / p.name for p in parts])
        return frame.cast(dict(EVENT_SCHEMA))  # type: ignore[arg-type]


def _part_name(last_id: int) -> str:
    return f"frame-{last_id:012d}.parquet"


def _decode(page: Page) -> pl.DataFrame:
    """A page of stored rows as frame rows; amendments whose target is in this page resolved
    (the others are resolved with the amendments' part)."""
    return decode_stored(*page)


def _merge_small(folder: Path, parts: list[Part], last_id: int) -> list[Part]:
    """Past `MAX_PARTS`, the parts with fewer than `SMALL` rows (one per small import) become
    one; the pages of a first load stay as they are."""
    if len(parts) <= MAX_PARTS:
        return parts
    small = [p for p in parts if p.rows < SMALL]
    if len(small) < 2:
        return parts
    merged = _merge_parts(folder, small, f"frame-{last_id:012d}-merged.parquet")
    for old in small:  # merged away now: the grace period starts now
        with contextlib.suppress(OSError):
            os.utime(folder / old.name)
    return [*(p for p in parts if p.rows >= SMALL), merged]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer of a cache at a time (readers need no lock: parts are never rewritten)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: the manifest's atomic replace is the only guard
        yield
        return
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sweep(folder: Path, keep: set[str], grace: float = STALE_GRACE) -> None:
    """Remove parts no longer listed more than `grace` seconds ago: a lazy scan planned by
    another process just before they were merged away may still be reading them."""
    now = time.time()
    for part in folder.glob("*.parquet"):
        with contextlib.suppress(OSError):
            if part.name not in keep and now - part.stat().st_mtime > grace:
                part.unlink()


def cache_dir_for(store: StoreURL, cache_root: str | os.PathLike[str] | None = None) -> Path:
    if store.kind == "sqlite" and cache_root is None:
        db = Path(store.path).expanduser().resolve()
        return db.with_name(db.name + ".frame")
    root = Path(
        cache_root or os.environ.get("CLEDGER_CACHE_DIR") or Path.home() / ".cache" / "cledger"
    )
    key = hashlib.sha256(store.display.encode()).hexdigest()[:16]
    return root / f"{store.dbname or Path(store.path).name}-{key}.frame"


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
