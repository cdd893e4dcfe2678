"""`cledger import --format register FILE.csv... --commissioner ID`: successive snapshots of one
council's contract register turned into history.

Snapshots are taken in date order; each is compared with the one before (or, for the first, with
what earlier imports left in the ledger):
- a new reference -> `ContractAwarded` (agreement id `<commissioner>:<reference>`);
- a later end date -> `Extended`, effective on the snapshot's date, its rationale saying it was
  inferred from the register of that date; an earlier end date is reported, not recorded;
- a changed value -> `Varied` (read as `amounts.revalue` says);
- a supplier change -> reported; a row that disappears -> reported, never invented as an ending.
Event ids are `register:<commissioner>:<reference>:<snapshot date>:<what>`: re-importing a
snapshot adds nothing. Award and variation events keep the published amount as `source_amount`,
so the next snapshot's change is measured against what the register said, not a rounding of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.catalogue import NOT_STATED
from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.values import equal_shares
from infra.interop.amounts import annualise, days_inclusive, pounds, revalue, whole_life_of
from infra.interop.options import ImportOptions
from infra.interop.parties import PartyBook
from infra.interop.registers import RegisterRow, Snapshot, read_snapshot, require
from infra.interop.report import BadValue, InteropReport, Missing, Note, Origin
from infra.interop.staging import Staged, native, store

RECORDED_BY = "import:register"


@dataclass
class _State:
    agreement_id: str
    award_event_id: str
    awarded_on: str
    start: str
    end: str
    amount: Decimal
    rate: Decimal
    suppliers: tuple[str, ...] | None
    done: bool = False


def import_registers(
    ledger: Ledger, paths: Sequence[Path], options: ImportOptions
) -> InteropReport:
    commissioner = options.commissioner
    if not commissioner:
        raise LedgerError("a register belongs to one commissioner; expected --commissioner ID")
    if ledger.subject("commissioner", commissioner) is None:
        raise LedgerError(
            f"--commissioner '{commissioner}' is not in the ledger; expected the id of an "
            "existing commissioner (record its CommissionerEstablished first)"
        )
    report = InteropReport("register", files=[str(p) for p in paths], unit="rows")
    history = _History(ledger, commissioner, options, report)
    snapshots = sorted((read_snapshot(p, options.mapping) for p in paths), key=lambda s: s[0].date)
    dates = [s.date for s, _ in snapshots]
    if len(set(dates)) != len(dates):
        twice = next(d for d in dates if dates.count(d) > 1)
        both = [str(s.path) for s, _ in snapshots if s.date == twice]
        raise LedgerError(
            f"{both[1]}: two snapshots dated {twice} (this and {both[0]}); expected one "
            "register per date"
        )
    for snapshot, mapping in snapshots:
        history.snapshot(snapshot, mapping)
    store(ledger, history.parties.registrations() + history.out, report)
    return report


class _History:
    def __init__(
        self, ledger: Ledger, commissioner: str, options: ImportOptions, report: InteropReport
    ):
        self.ledger, self.commissioner, self.options, self.report = (
            ledger,
            commissioner,
            options,
            report,
        )
        self.parties = PartyBook(
            ledger, fmt="register", providers=report.providers, commissioners=report.commissioners
        )
        self.states: dict[str, _State] = {}
        self.out: list[Staged] = []
        self.previous: set[str] | None = None

    def snapshot(self, snap: Snapshot, mapping: dict[str, Any]) -> None:
        path = str(snap.path)
        self.report.encodings[path] = snap.encoding
        self.report.read += len(snap.rows) + len(snap.skipped)
        for row, column, why in snap.skipped:
            self.report.skipped.append(Note(path, f"row {row}", why, column))
        basis = str(mapping.get("value_basis") or self.options.value_basis)
        for reference, row in snap.rows.items():
            origin = Origin(path, f"row {row.row} ({reference})")
            try:
                self._row(snap, row, origin, basis)
            except Missing as missing:
                self.report.skipped.append(
                    Note(path, origin.record, missing.problem, missing.field)
                )
            except BadValue as bad:
                raise origin.refuse(bad.problem, bad.field) from None
        self._vanished(snap)

    def _vanished(self, snap: Snapshot) -> None:
        if self.previous is None:
            self.previous = self._open_in_ledger(snap.date)
        for reference in sorted(self.previous - set(snap.rows)):
            state = self.states.get(reference) or self._seed(reference)
            if state is None or state.done:
                continue
            when = "after its end date" if state.end < snap.date else "before its end date"
            self.report.noticed.append(
                Note(
                    str(snap.path),
                    reference,
                    f"no longer in the register of {snap.date} ({when} {state.end}); "
                    "no ending recorded",
                )
            )
        self.previous = set(snap.rows)

    def _open_in_ledger(self, day: str) -> set[str]:
        """References an earlier import recorded for this commissioner, still running on `day`."""
        prefix = f"register:{self.commissioner}:"
        found = set()
        for fact in self.ledger.facts():
            e = fact.event
            if e.type == "ContractAwarded" and e.event_id.startswith(prefix):
                found.add(e.data["agreement_id"].split(":", 1)[1])
        return {r for r in found if (s := self._seed(r)) is not None and s.end >= day}

    def _seed(self, reference: str) -> _State | None:
        if reference in self.states:
            return self.states[reference]
        agreement = self.ledger.agreement(f"{self.commissioner}:{reference}")
        if agreement is None:
            return None
        terms = agreement.terms()
        award = terms.award
        if award is None:
            return None
        published = [f.event.data.get("source_amount") for f in agreement.facts]
        amounts = [Decimal(a) for a in published if a]
        state = _State(
            terms.agreement_id,
            award.event_id,
            award.effective_on,
            terms.start,
            terms.end,
            amounts[-1] if amounts else whole_life_of(terms.values, terms.start, terms.end),
            Decimal(terms.values[-1][1]),
            None,
            done=terms.ended is not None,
        )
        self.states[reference] = state
        return state

    def _row(self, snap: Snapshot, row: RegisterRow, origin: Origin, basis: str) -> None:
        event_id = self._event_id(snap, row, "award")
        state = self.states.get(row.reference)
        if state is None:
            existing = self.ledger.agreement(f"{self.commissioner}:{row.reference}")
            if existing is not None and existing.facts[0].event.event_id != event_id:
                state = self._seed(row.reference)
        if state is None:
            self._award(snap, row, origin, basis)
        elif not state.done:
            self._changes(snap, row, origin, basis, state)

    def _event_id(self, snap: Snapshot, row: RegisterRow, what: str) -> str:
        return f"register:{self.commissioner}:{row.reference}:{snap.date}:{what}"

    def _source(self, snap: Snapshot, row: RegisterRow) -> str:
        return f"contract register of {self.commissioner} as at {snap.date}, ref {row.reference}"

    def _award(self, snap: Snapshot, row: RegisterRow, origin: Origin, basis: str) -> None:
        start, end, value = require(row)
        gbp = value  # registers of English councils are in pounds
        rate = gbp if basis == "annual" else annualise(gbp, start, end)
        source = self._source(snap, row)
        if basis != "annual":
            source += (
                f"; annual value = whole-life {pounds(row.value_column, gbp)} x 365 / "
                f"{days_inclusive(start, end)} days"
            )
        providers = []
        for party in row.suppliers:
            pid = self.parties.resolve(
                "provider",
                party,
                start,
                origin,
                source,
                sector="third_sector" if row.vcse else "unknown",
                size_band="unknown",
            )
            if pid not in providers:
                providers.append(pid)
        role = "sole" if len(providers) == 1 else "alliance_member"
        agreement_id = f"{self.commissioner}:{row.reference}"
        record: dict[str, Any] = {
            "event_id": self._event_id(snap, row, "award"),
            "type": "ContractAwarded",
            "effective_on": start,
            "recorded_by": RECORDED_BY,
            "rationale": NOT_STATED,
            "source": source,
            "agreement_id": agreement_id,
            "kind": "framework_call_off" if row.route == "framework" else "contract",
            "title": row.title,
            "service_category": row.category,
            "commissioners": [{"commissioner_id": self.commissioner, "share": "1"}],
            "providers": [
                {"provider_id": p, "role": role, "share": s}
                for p, s in zip(providers, equal_shares(len(providers)), strict=True)
            ],
            "annual_value": pounds(row.value_column, rate),
            "start": start,
            "end": end,
            "route": row.route,
            "funding_stream": "unknown",
            "source_amount": pounds(row.value_column, gbp),
        }
        lead = (self.options.mapping.get("leads") or {}).get(self.commissioner)
        if lead:
            record["responsible_lead"] = lead
        self.out.append((native(record, origin), origin))
        self.report.agreements.add(agreement_id)
        self.states[row.reference] = _State(
            agreement_id,
            record["event_id"],
            start,
            start,
            end,
            gbp,
            Decimal(record["annual_value"]),
            tuple(p.name for p in row.suppliers),
        )

    def _changes(
        self, snap: Snapshot, row: RegisterRow, origin: Origin, basis: str, state: _State
    ) -> None:
        self.report.agreements.add(state.agreement_id)
        inferred = f"inferred from the contract register of {snap.date}"
        old_end = state.end
        if row.end and row.end > state.end:
            self._emit(
                snap,
                row,
                origin,
                state,
                "extended",
                "Extended",
                new_end=row.end,
                rationale=f"{inferred}: end date moved from {state.end} to {row.end}",
            )
            state.end = row.end
        elif row.end and row.end < state.end:
            self.report.noticed.append(
                Note(
                    str(snap.path),
                    origin.record,
                    f"end date moved earlier ({state.end} -> {row.end}): not recorded",
                    row.end_column,
                )
            )
        if row.value is not None:
            change = revalue(
                basis,
                old_amount=state.amount,
                new_amount=row.value,
                rate=state.rate,
                start=state.start,
                old_end=old_end,
                end=state.end,
                decided=snap.date,
            )
            old_amount, state.amount = state.amount, row.value
            if change is not None:
                rate = Decimal(pounds(row.value_column, change[0]))
                state.rate = rate
                self._emit(
                    snap,
                    row,
                    origin,
                    state,
                    "varied",
                    "Varied",
                    annual_value=f"{rate:.2f}",
                    applies_from=change[1],
                    source_amount=pounds(row.value_column, row.value),
                    rationale=f"{inferred}: value changed from {pounds('value', old_amount)} "
                    f"to {pounds('value', row.value)}",
                )
        suppliers = tuple(p.name for p in row.suppliers)
        if state.suppliers is not None and suppliers and suppliers != state.suppliers:
            self.report.noticed.append(
                Note(
                    str(snap.path),
                    origin.record,
                    f"supplier changed ({', '.join(state.suppliers)} -> {', '.join(suppliers)}):"
                    " not recorded (record a novation by hand as Restructured)",
                    "supplier",
                )
            )
        state.suppliers = suppliers or state.suppliers

    def _emit(
        self,
        snap: Snapshot,
        row: RegisterRow,
        origin: Origin,
        state: _State,
        what: str,
        type_: str,
        **data: Any,
    ) -> None:
        rationale = data.pop("rationale")
        record = {
            "event_id": self._event_id(snap, row, what),
            "type": type_,
            "effective_on": max(snap.date, state.awarded_on),
            "recorded_by": RECORDED_BY,
            "rationale": rationale,
            "source": self._source(snap, row),
            "agreement_id": state.agreement_id,
            **data,
        }
        self.out.append((native(record, origin), origin))
