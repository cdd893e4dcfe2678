"""What an import from another format did, and the error that refuses one.

Every importer fills the same report: how many source records it read, which parties it matched
to the ledger and which it created, what it could not map (skipped, with the field that was
missing) and what it noticed without inventing an event (a vanished register row, a supplier
change). A refusal names the file, the record and the field, and stores nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from domain.errors import LedgerError
from domain.recording import RecordReport
from infra.interop.bounds import visible

SHOWN = 20  # notes listed on the terminal; the JSON report (--report) has them all


class RecordRefused(LedgerError):
    """An import that stored nothing, naming the file, the record and (when known) the field."""

    def __init__(self, path: str, record: str, message: str, field_name: str | None = None):
        self.path, self.record, self.field = path, record, field_name
        where = f"{path}: record {record}"
        if field_name:
            where += f", field '{field_name}'"
        super().__init__(visible(f"{where}: {message}; nothing was imported"))


class BadValue(Exception):
    """A source value that is malformed (a date that is no date, a foreign currency with no
    rate): the whole import is refused, naming it."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(problem)
        self.field, self.problem = field_name, problem


class Missing(Exception):
    """A record that is valid in its own format but lacks what an agreement needs (no end date,
    no value): it is skipped and reported, and the rest is imported."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(problem)
        self.field, self.problem = field_name, problem


class OutOfRange(Missing):
    """A date the ledger does not record (outside 1900..2099, e.g. 9999-12-31 for "no fixed
    end"): the record is skipped like an incomplete one, and a later release saying so is
    noticed in the report rather than dropped without a word."""


@dataclass(frozen=True)
class Origin:
    """Where a mapped event came from: file, record (e.g. `ocid/release id`, `row 12`), field."""

    path: str
    record: str
    field: str | None = None

    def refuse(self, message: str, field_name: str | None = None) -> RecordRefused:
        return RecordRefused(self.path, self.record, message, field_name or self.field)


@dataclass(frozen=True)
class Note:
    """Something reported rather than recorded: a record skipped, a change not mapped."""

    path: str
    record: str
    why: str
    field: str | None = None

    def line(self) -> str:
        where = f"{self.path}: {self.record}"
        if self.field:
            where += f" ({self.field})"
        return f"{where}: {self.why}"


@dataclass
class PartyCounts:
    """How parties of the source met the ledger's providers or commissioners."""

    by_identifier: int = 0
    by_name: int = 0
    created: int = 0
    created_ids: list[str] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return self.by_identifier + self.by_name

    def summary(self, noun: str) -> str:
        return (
            f"{noun}: {self.matched} matched ({self.by_identifier} by identifier, "
            f"{self.by_name} by name), {self.created} created"
        )


@dataclass
class InteropReport:
    format: str
    files: list[str] = field(default_factory=list)
    read: int = 0  # source records: releases, rows, grants
    duplicates: int = 0
    agreements: set[str] = field(default_factory=set)
    multi_award: set[str] = field(default_factory=set)  # agreements of multi-award processes
    providers: PartyCounts = field(default_factory=PartyCounts)
    commissioners: PartyCounts = field(default_factory=PartyCounts)
    skipped: list[Note] = field(default_factory=list)
    noticed: list[Note] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)
    recorded: int = 0
    already_present: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    unit: str = "records"
    library_warnings: Counter[str] = field(default_factory=Counter)  # by kind, never printed raw

    def absorb(self, stored: RecordReport) -> None:
        self.recorded += stored.recorded
        self.already_present += stored.already_present
        self.by_type.update(stored.by_type)

    def lines(self) -> list[str]:
        """The terminal summary: totals first, then up to `SHOWN` of each kind of note."""
        files = ", ".join(self.files)
        out = [
            f"imported {self.recorded} events from {files} ({self.already_present} already in "
            f"the ledger)",
            f"read {self.read} {self.unit}"
            + (f" ({self.duplicates} exact duplicates ignored)" if self.duplicates else "")
            + f"; {len(self.agreements)} agreements"
            + (
                f" ({len(self.multi_award)} from multi-award processes)" if self.multi_award else ""
            ),
            self.providers.summary("providers"),
            self.commissioners.summary("commissioners"),
        ]
        if self.by_type:
            out.append("events: " + ", ".join(f"{t} {n}" for t, n in sorted(self.by_type.items())))
        unusual = {p: e for p, e in self.encodings.items() if e != "utf-8"}
        for path, encoding in unusual.items():
            out.append(f"{path}: not UTF-8; read as {encoding}")
        if self.library_warnings:
            kinds = sorted(self.library_warnings.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(f"library warnings {sum(self.library_warnings.values())}:")
            out.extend(f"  {n} x {what}" for what, n in kinds[:SHOWN])
            if len(kinds) > SHOWN:
                out.append(f"  ... and {len(kinds) - SHOWN} more kinds (see --report FILE)")
        for title, notes in (("skipped", self.skipped), ("noticed", self.noticed)):
            if notes:
                out.append(f"{title} {len(notes)}:")
                out.extend("  " + n.line() for n in notes[:SHOWN])
                if len(notes) > SHOWN:
                    out.append(f"  ... and {len(notes) - SHOWN} more (see --report FILE)")
        return out

    def as_dict(self) -> dict[str, Any]:
        def notes(items: list[Note]) -> list[dict[str, Any]]:
            return [
                {"file": n.path, "record": n.record, "field": n.field, "why": n.why} for n in items
            ]

        def parties(c: PartyCounts) -> dict[str, Any]:
            return {
                "matched_by_identifier": c.by_identifier,
                "matched_by_name": c.by_name,
                "created": c.created,
                "created_ids": c.created_ids,
            }

        return {
            "format": self.format,
            "files": self.files,
            "encodings": self.encodings,
            "read": self.read,
            "duplicates": self.duplicates,
            "agreements": sorted(self.agreements),
            "multi_award_agreements": sorted(self.multi_award),
            "providers": parties(self.providers),
            "commissioners": parties(self.commissioners),
            "recorded": self.recorded,
            "already_present": self.already_present,
            "by_type": dict(sorted(self.by_type.items())),
            "skipped": notes(self.skipped),
            "noticed": notes(self.noticed),
            "library_warnings": dict(sorted(self.library_warnings.items())),
        }
