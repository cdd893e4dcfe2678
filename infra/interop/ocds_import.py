"""`cledger import --format ocds FILE...`: read (streamed), group by process, map, store.

All or nothing across every file given: the events of all of them are checked as one unit of
work and stored in one transaction, or the first problem is named and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from domain.ledger import Ledger
from infra.interop.encoding import detect_encoding
from infra.interop.library_warnings import counted
from infra.interop.ocds_map import Context, map_process
from infra.interop.ocds_read import read_releases
from infra.interop.ocds_spool import ReleaseSpool
from infra.interop.options import ImportOptions
from infra.interop.parties import PartyBook
from infra.interop.report import InteropReport
from infra.interop.staging import Staged, store

Progress = Callable[[int], None]


def import_ocds(
    ledger: Ledger,
    paths: Sequence[Path],
    options: ImportOptions,
    *,
    reading: Progress | None = None,
    storing: Callable[[int], Progress] | None = None,
) -> InteropReport:
    """Import OCDS release or record packages (JSON or JSON Lines, OCDS 1.0 or 1.1).

    `reading` is told of each release read; `storing(total)` returns the progress callback of
    the storing phase (the CLI's bars)."""
    report = InteropReport("ocds", files=[str(p) for p in paths], unit="releases")
    spool = ReleaseSpool()
    with ExitStack() as quiet:
        quiet.callback(spool.close)
        quiet.enter_context(counted(report.library_warnings))
        for path in paths:
            encoding = detect_encoding(path)
            report.encodings[str(path)] = encoding
            for found in read_releases(path, encoding, progress=reading):
                spool.add(found)
        report.read, report.duplicates = spool.read, spool.duplicates
        parties = PartyBook(
            ledger, fmt="ocds", providers=report.providers, commissioners=report.commissioners
        )
        ctx = Context(ledger, options, parties, report)
        mapped: list[Staged] = []
        for ocid, releases in spool.processes():
            mapped.extend(map_process(ocid, releases, ctx))
    staged = parties.registrations() + mapped
    store(ledger, staged, report, progress=storing(len(staged)) if storing else None)
    return report
