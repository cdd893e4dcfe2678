"""Releases grouped by contracting process, on disk: memory stays bounded whatever the input.

Why: the releases of one `ocid` are scattered through a bulk file (and across daily files), but
must be merged in date order. Each release goes, as compact JSON, into a temporary SQLite table;
reading it back sorted by (ocid, date, arrival) hands over one process at a time. The same table
catches duplicate release ids: an identical copy is ignored and counted, a different release
under the same (ocid, id) refuses the import.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from infra.interop.amounts import instant
from infra.interop.bounds import json_problem
from infra.interop.ocds_read import Document, FoundRelease
from infra.interop.report import BadValue, RecordRefused


@dataclass(frozen=True)
class Spooled:
    path: str
    position: str
    release: dict[str, Any]
    document: Document
    compiled: bool

    @property
    def ocid(self) -> str:
        return str(self.release["ocid"])

    @property
    def release_id(self) -> str:
        return str(self.release["id"])


def release_identity(found: FoundRelease) -> tuple[str, str, str]:
    """(ocid, release id, sort instant) of a release, or refused naming the field."""
    release = found.release
    ocid = release.get("ocid")
    where = found.position
    if not isinstance(ocid, str) or not ocid.strip():
        raise RecordRefused(found.path, where, f"is {ocid!r}; expected the process's ocid", "ocid")
    rid = release.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int) or not str(rid).strip():
        raise RecordRefused(
            found.path, f"{where} ({ocid})", f"is {rid!r}; expected the release id", "id"
        )
    try:
        when = instant("date", release.get("date"))
    except BadValue as bad:
        raise RecordRefused(found.path, f"{where} ({ocid}/{rid})", bad.problem, "date") from None
    return ocid, str(rid), when


class ReleaseSpool:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="cledger-ocds-")
        self._db = sqlite3.connect(Path(self._dir.name) / "spool.db")
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE release (seq INTEGER PRIMARY KEY, ocid TEXT, rid TEXT, instant TEXT,"
            " digest BLOB, doc INTEGER, path TEXT, position TEXT, compiled INTEGER, body BLOB,"
            " UNIQUE (ocid, rid));"
        )
        self._documents: dict[int, Document] = {}
        self.read = 0
        self.duplicates = 0

    def add(self, found: FoundRelease) -> None:
        problem = json_problem(found.release)
        if problem is not None:
            raise RecordRefused(found.path, found.position, problem[1], problem[0])
        ocid, rid, when = release_identity(found)
        body = orjson.dumps(found.release, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.blake2b(body, digest_size=16).digest()
        doc = 0
        if found.document.package:
            doc = id(found.document)
            self._documents.setdefault(doc, found.document)
        cur = self._db.execute(
            "INSERT OR IGNORE INTO release (ocid, rid, instant, digest, doc, path, position,"
            " compiled, body) VALUES (?,?,?,?,?,?,?,?,?)",
            (ocid, rid, when, digest, doc, found.path, found.position, found.compiled, body),
        )
        self.read += 1
        if cur.rowcount:
            return
        first_digest, first_path, first_position = self._db.execute(
            "SELECT digest, path, position FROM release WHERE ocid = ? AND rid = ?", (ocid, rid)
        ).fetchone()
        if first_digest == digest:
            self.duplicates += 1
            return
        raise RecordRefused(
            found.path,
            f"{found.position} ({ocid}/{rid})",
            f"release id '{rid}' of ocid '{ocid}' was already read, with different content, "
            f"from {first_path} {first_position}; expected each release id once per ocid "
            "(identical copies are ignored)",
            "id",
        )

    def processes(self) -> Iterator[tuple[str, list[Spooled]]]:
        """Each ocid with its releases in date order (ties in the order they were read)."""
        self._db.execute("CREATE INDEX IF NOT EXISTS by_process ON release (ocid, instant, seq)")
        current: str | None = None
        group: list[Spooled] = []
        rows = self._db.execute(
            "SELECT ocid, doc, path, position, compiled, body FROM release "
            "ORDER BY ocid, instant, seq"
        )
        for ocid, doc, path, position, compiled, body in rows:
            if ocid != current and group:
                yield current or "", group
                group = []
            current = ocid
            document = self._documents.get(doc) or Document(0)
            group.append(Spooled(path, position, orjson.loads(body), document, bool(compiled)))
        if group:
            yield current or "", group

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()
