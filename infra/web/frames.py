"""The event frame held in the server's memory between requests, refreshed when the store grows.

Why: the CLI scans the Parquet cache on every command (a process lives for one view); a server
answers many, so it keeps the frame collected in memory (the whole frame, and the frame with the
corrections known now applied, which the market views read) and the snapshots of the last few
(as of, known at) pairs, whose views (`Snapshot.view`) are then computed once for every page that
reads them. Before a request the store's log is asked whether anything was recorded since (at
most once a second): if so, the frames and every snapshot are dropped and read again.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import polars as pl

from infra.store.frame_cache import FrameStore
from projections.standing import Snapshot

SNAPSHOTS = 8  # (frame, as of, known at) snapshots kept, the least recently used dropped
RESULTS = 64  # computed results (briefs, charts) kept
PAGES = 256  # whole answers (a page, its CSV, a JSON view) kept, by address
CHECK_EVERY = 1.0  # seconds between two looks at the store's log


class Frames:
    """One store's event frame, in memory, with the snapshots and results computed from it."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self._store = FrameStore(store_url)
        self._lock = threading.RLock()
        self._checked = 0.0
        self.version: int | None = None  # the last notification id the frames hold
        self._frames: dict[bool, pl.DataFrame] = {}
        self._snapshots: OrderedDict[Hashable, Snapshot] = OrderedDict()
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._pages: OrderedDict[str, Any] = OrderedDict()

    # -- freshness --------------------------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        """Drop everything held when the store holds events the frames do not."""
        now = time.monotonic()
        if not force and now - self._checked < CHECK_EVERY and self.version is not None:
            return
        with self._lock:
            manifest = self._store.refresh()
            version = manifest.last_id if manifest is not None else None
            if version is None or version != self.version:
                self._frames.clear()
                self._snapshots.clear()
                self._results.clear()
                self._pages.clear()
                self.version = version
            self._checked = time.monotonic()

    # -- frames and snapshots -------------------------------------------------------------------
    def frame(self, *, in_force: bool = False) -> pl.LazyFrame:
        """The whole event frame (`in_force`: the corrections known now applied), as the CLI's
        `event_frame` gives it, but read from memory."""
        self.refresh()
        with self._lock:
            if in_force not in self._frames:
                self._frames[in_force] = self._store.scan(in_force=in_force).collect()
            return self._frames[in_force].lazy()

    def snapshot(
        self, as_of: dt.date, known_at: dt.datetime | None, *, in_force: bool = False
    ) -> Snapshot:
        """The snapshot of the frame on `as_of` as known at `known_at`, kept for the next
        request. The market views read the frame in force when nothing earlier is asked, as the
        CLI's do."""
        frame = self.frame(in_force=in_force and known_at is None)
        key = (in_force and known_at is None, as_of, known_at)
        with self._lock:
            snap = self._snapshots.get(key)
            if snap is None:
                snap = Snapshot.of(frame, as_of, known_at)
                self._snapshots[key] = snap
                while len(self._snapshots) > SNAPSHOTS:
                    self._snapshots.popitem(last=False)
            self._snapshots.move_to_end(key)
            return snap

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A result computed once per version of the frames (the brief, a chart's SVG)."""
        self.refresh()
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        value = compute()
        with self._lock:
            self._results[key] = value
            while len(self._results) > RESULTS:
                self._results.popitem(last=False)
        return value

    # -- whole answers ---------------------------------------------------------------------------
    def answer(self, address: str) -> Any:
        """The answer kept for `address` (a page's full URL) if the frames have not changed
        since it was made: the same address on the same ledger is the same page."""
        self.refresh()
        with self._lock:
            found = self._pages.get(address)
            if found is not None:
                self._pages.move_to_end(address)
            return found

    def keep_answer(self, address: str, answer: Any) -> None:
        with self._lock:
            self._pages[address] = answer
            while len(self._pages) > PAGES:
                self._pages.popitem(last=False)
