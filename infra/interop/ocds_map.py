"""The releases of one contracting process (`ocid`), in date order, mapped to native events.

Each release is upgraded to OCDS 1.1 (`ocdskit`) and merged into the process's compiled state
(`ocdsmerge`); the events come from how that state changes:
- each award with suppliers -> `ContractAwarded`, with the parties it names matched or created.
  The process's first such award is the agreement named after the ocid (as it always was); each
  further award (a lot of a multi-lot process) is an agreement of its own, `<ocid>/<award id>`;
- the end of an award's contract (`contracts[].awardID`; with one award, the only contract)
  moving later -> `Extended`; a changed value -> `Varied`;
- `contractTermination` or contract status `terminated` -> `Terminated` (before the end) or
  `Expired` (on or after it; OCDS uses `terminated` for completion too); a closing release that
  also moves the end records both: a later end `Extended` first, an earlier end the day it ended;
- a later award notice (`award`, `awardUpdate`) restating the award's value, term or title before
  any change to the contract was recorded -> `Corrected` of the award (the source's restatement,
  not a variation from the notice's date); a title restated later -> `Corrected` of its title;
- any `*Cancellation` tag, or the award `cancelled` -> `Rescinded` (the award stays, with no
  effect); supplier changes and an end moved earlier without closing are reported, not recorded.
In a process of several awards a release's tags concern only the awards and contracts it names.
Event ids are `ocds:<ocid>:<release id>:<what>` (`:<award id>` added for a further award), so
importing the same releases again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ocdskit.upgrade import upgrade_release_10_11
from ocdsmerge.exceptions import OCDSMergeError
from ocdsmerge.merge import CompiledRelease

from domain.catalogue import NOT_STATED
from domain.ledger import Ledger
from domain.values import equal_shares
from infra.interop import ocds_fields as f
from infra.interop.amounts import (
    annualise,
    in_pounds,
    iso_day,
    pounds,
    revalue,
    whole_life_of,
)
from infra.interop.amounts import days_inclusive as _days
from infra.interop.bounds import one_line
from infra.interop.ocds_schema import merge_rules
from infra.interop.ocds_spool import Spooled
from infra.interop.options import ImportOptions
from infra.interop.parties import PartyBook
from infra.interop.report import BadValue, InteropReport, Missing, Note, Origin, OutOfRange
from infra.interop.staging import Staged, native

RECORDED_BY = "import:ocds"
CANCELLATIONS = frozenset({"tenderCancellation", "awardCancellation", "contractCancellation"})
AWARD_NOTICES = frozenset({"award", "awardUpdate"})
CONTRACT_NOTICES = frozenset(
    {
        "contract",
        "contractUpdate",
        "contractAmendment",
        "contractTermination",
        "implementation",
        "implementationUpdate",
    }
)


@dataclass
class Context:
    ledger: Ledger
    options: ImportOptions
    parties: PartyBook
    report: InteropReport


@dataclass
class _State:
    """The agreement as the imported events have left it."""

    agreement_id: str
    award_event_id: str
    award_id: str | None
    awarded_on: str
    start: str
    end: str
    amount: Decimal  # the last whole-life (or annual, with --value-basis annual) amount, GBP
    rate: Decimal  # the annual value in force at the end of the term
    suppliers: tuple[str, ...] | None
    amendments: set[str] = field(default_factory=set)
    done: bool = False
    lot: str | None = None  # the award id of a further award's agreement; None for the first
    title: str | None = None  # the title recorded (None: unknown, taken from the next release)
    changed: bool = False  # a change to the contract was recorded (Extended, Varied)


_UNSET = object()


class _Process:
    """One contracting process: an agreement for each award with suppliers. The first keeps
    the id it always had (the ocid, or our extension's `agreementId`), so data imported before
    stays as it was; each further award (a lot) is `<ocid>/<award id>`."""

    def __init__(self, ocid: str, ctx: Context):
        self.ocid, self.ctx = ocid, ctx
        self.compiled = CompiledRelease(merge_rules=merge_rules())
        self.states: dict[str | None, _State] = {}  # by OCDS award id, in the order mapped
        self.first: Any = _UNSET  # the award id of the process's first agreement, once known
        self.out: list[Staged] = []
        self.missing: dict[str | None, Note] = {}
        self.idless = False

    # -- per release -------------------------------------------------------------------------
    def release(self, sp: Spooled) -> None:
        origin = Origin(sp.path, f"{self.ocid}/{sp.release_id}")
        try:
            release = _upgraded(sp)
        except (TypeError, KeyError, AttributeError, ValueError) as err:  # a malformed 1.0 release
            raise origin.refuse(
                f"cannot be upgraded from OCDS 1.0 with ocdskit ({one_line(repr(err))})"
            ) from None
        try:
            self.compiled.append(release)  # its warnings: counted by import_ocds
            view = self.compiled.asdict()
        except (OCDSMergeError, TypeError, KeyError, AttributeError, ValueError) as err:
            raise origin.refuse(
                f"cannot be merged with ocdsmerge ({one_line(repr(err))})"
            ) from None
        uri = sp.document.uri or ""  # a path would make the same release differ by folder
        day = iso_day("date", release.get("date"))
        assert day is not None  # the spool refused releases without a date
        ctx = Ctx(
            self, sp, release, view, origin, f"{self.ocid}/{sp.release_id} {uri}".strip(), day
        )
        try:
            for state in list(self.states.values()):
                if not state.done:
                    self._later(ctx, state)
            self._new_awards(ctx)
        except BadValue as bad:
            raise origin.refuse(bad.problem, bad.field) from None

    def _new_awards(self, c: Ctx) -> None:
        """Awards with suppliers this process has no agreement for yet."""
        found = f.awards_with_suppliers(c.view)
        if not found:
            self._continue(c)
            return
        if self.first is _UNSET:
            self.first = _key(found[0].value)
        for award in found:
            key = _key(award.value)
            if key in self.states:
                continue
            if key is None and self.first is not None:  # a further award with no id
                if not self.idless:
                    self.idless = True
                    self.ctx.report.noticed.append(
                        Note(
                            c.sp.path,
                            c.origin.record,
                            "a further award with suppliers but no id: not imported (each "
                            "further award becomes an agreement named by its id)",
                            f"{award.field}.id",
                        )
                    )
                continue
            lot = None if key == self.first else key
            self._open(c, award, key, lot)

    def _open(self, c: Ctx, award: f.Located, key: str | None, lot: str | None) -> None:
        agreement_id = _agreement_id(c.view, self.ocid) if lot is None else _lot_id(self.ocid, lot)
        existing = self.ctx.ledger.agreement(agreement_id)
        if existing is not None and existing.facts[0].event.event_id != c.event_id("award", lot):
            # an earlier import (or a person) recorded the award: continue from the ledger
            self._seed(c, existing, key, lot)
            return
        try:
            self._award(c, agreement_id, award, key, lot)
        except Missing as missing:
            # a later release may complete it: reported only if none does (see map_process)
            self.missing[key] = Note(c.sp.path, c.origin.record, missing.problem, missing.field)

    def _continue(self, c: Ctx) -> None:
        """A release with contracts but no award with suppliers (a later file): continue the
        agreements an earlier import recorded, each contract's by its `awardID`."""
        contracts = f.items(c.view.get("contracts"))
        keys = [_key({"id": x.get("awardID")}) for x in contracts]
        for key in keys:
            if key is not None and key not in self.states:
                existing = self.ctx.ledger.agreement(_lot_id(self.ocid, key))
                if existing is not None:
                    self._seed(c, existing, key, key)
        free = [k for k in keys if k not in self.states]  # contracts no further award holds
        if free and self.first is _UNSET:
            existing = self.ctx.ledger.agreement(_agreement_id(c.view, self.ocid))
            if existing is not None:
                self.first = free[0]
                self._seed(c, existing, self.first, None)

    def _seed(self, c: Ctx, agreement: Any, key: str | None, lot: str | None) -> None:
        state = _seeded(agreement, key, lot)
        self.states[key] = state
        self._later(c, state)

    def _award(
        self, c: Ctx, agreement_id: str, award: f.Located, key: str | None, lot: str | None
    ) -> None:
        ctx, view = self.ctx, c.view
        contract = f.contract_for(view, award.value)
        awarded_on = iso_day(f"{award.field}.date", award.value.get("date")) or c.day
        start, end, _ = f.term(view, award, contract, c.day)
        amount, currency, value_field = f.value(award, contract)
        gbp, fx_note = in_pounds(f"{value_field}.currency", amount, currency, ctx.options.rates)
        notes = [n for n in (fx_note,) if n]
        if ctx.options.value_basis == "annual":
            rate = gbp
        else:
            rate = annualise(gbp, start, end)
            notes.append(
                f"annual value = whole-life {pounds(value_field, gbp)} x 365 / "
                f"{(_days(start, end))} days"
            )
        rate = Decimal(pounds(value_field, rate))
        buyer = f.buyer(view)
        if buyer is None and ctx.options.commissioner is None:
            raise Missing("buyer", "no buyer or procuring entity (give --commissioner ID)")
        if buyer is not None:
            commissioner_id = ctx.parties.resolve(
                "commissioner",
                f.party(view, buyer.value, buyer.field),
                awarded_on,
                c.origin,
                c.source,
                **self._commissioner_attributes(view, buyer),
            )
        else:
            commissioner_id = str(ctx.options.commissioner)
        suppliers = f.items(award.value.get("suppliers"))
        provider_ids: list[str] = []
        for i, ref in enumerate(suppliers):
            attrs = f.party_attributes(view, ref)
            pid = ctx.parties.resolve(
                "provider",
                f.party(view, ref, f"{award.field}.suppliers[{i}]"),
                awarded_on,
                c.origin,
                c.source,
                sector=attrs.get("sector") or "unknown",
                size_band=attrs.get("size_band") or "unknown",
            )
            if pid not in provider_ids:
                provider_ids.append(pid)
        shares = equal_shares(len(provider_ids))
        role = "sole" if len(provider_ids) == 1 else "alliance_member"
        route = f.route(view)
        category, _ = f.service_category(view, award.value, ctx.options)
        record: dict[str, Any] = {
            "event_id": c.event_id("award", lot),
            "type": "ContractAwarded",
            "effective_on": awarded_on,
            "recorded_by": RECORDED_BY,
            "rationale": f.rationale(view),
            "source": "; ".join([c.source, *notes]),
            "agreement_id": agreement_id,
            "kind": "framework_call_off" if route == "framework" else "contract",
            "title": f.title(view, award.value, contract),
            "service_category": category,
            "commissioners": [{"commissioner_id": commissioner_id, "share": "1"}],
            "providers": [
                {"provider_id": p, "role": role, "share": s}
                for p, s in zip(provider_ids, shares, strict=True)
            ],
            "annual_value": f"{rate:.2f}",
            "start": start,
            "end": end,
            "route": route,
            "funding_stream": "unknown",
        }
        lead = self._lead(commissioner_id, view, buyer)
        if lead:
            record["responsible_lead"] = lead
        origin = Origin(c.origin.path, c.origin.record, award.field)
        self.out.append((native(record, origin), origin))
        state = _State(
            agreement_id,
            record["event_id"],
            key,
            awarded_on,
            start,
            end,
            gbp,
            rate,
            _supplier_refs(award.value),
            {f.amendment_key(a) for a in f.amendments(contract)},
            lot=lot,
            title=record["title"],
        )
        self.states[key] = state
        ctx.report.agreements.add(agreement_id)
        self._endings(c, state, award, contract, snapshot=True)

    def _later(self, c: Ctx, state: _State) -> None:
        award = self._award_of(c, state)
        if award is None:  # a release about the contract only
            award = f.Located({"id": state.award_id} if state.award_id else {}, "awards")
        self.ctx.report.agreements.add(state.agreement_id)
        contract = f.contract_for(c.view, award.value)
        fresh = [a for a in f.amendments(contract) if f.amendment_key(a) not in state.amendments]
        state.amendments.update(f.amendment_key(a) for a in fresh)
        why = "; ".join(
            " ".join(str(a.get("rationale") or a.get("description")).split())
            for a in fresh
            if a.get("rationale") or a.get("description")
        )
        dates = [iso_day("amendments[].date", a.get("date")) for a in fresh]
        decided = max([d for d in dates if d] or [c.day])
        if self._tags(c, state) & CANCELLATIONS or award.value.get("status") == "cancelled":
            self._emit(
                c,
                state,
                "rescinded",
                "Rescinded",
                c.day,
                why or None,
                rescinds=state.award_event_id,
            )
            state.done = True
            return
        closing = self._closes(c, state, contract)
        if closing and c.sp.compiled:
            self._endings(c, state, award, contract, why)  # a snapshot: nothing but the ending
            return
        try:
            start, end, end_field = f.term(c.view, award, contract, c.day)
            amount, currency, value_field = f.value(award, contract)
        except Missing as missing:
            if isinstance(missing, OutOfRange):  # said in the release, not recordable: noticed
                self.ctx.report.noticed.append(
                    Note(
                        c.sp.path,
                        c.origin.record,
                        f"{missing.problem}: not recorded",
                        missing.field,
                    )
                )
            if closing:
                self._endings(c, state, award, contract, why)
            return
        gbp, _ = in_pounds(f"{value_field}.currency", amount, currency, self.ctx.options.rates)
        title = f.title(c.view, award.value, contract) if f.states_title(c.release) else None
        if self._restates(c, state, fresh, closing):
            self._correct(c, state, start, end, gbp, title, value_field)
            return
        self._retitle(c, state, title)
        old_end = state.end
        ends_on: str | None = None  # the end a closing release states, when it moved earlier
        if end > old_end:
            self._emit(c, state, "extended", "Extended", decided, why or NOT_STATED, new_end=end)
            state.end = end
        elif end < old_end and closing:
            ends_on = end
        elif end < old_end:
            self.ctx.report.noticed.append(
                Note(
                    c.sp.path,
                    c.origin.record,
                    f"end moved earlier ({old_end} -> {end}) with no termination: not recorded",
                    end_field,
                )
            )
        del start
        self._revalue(c, state, gbp, old_end, decided, why, value_field)
        suppliers = _supplier_refs(award.value)
        if state.suppliers is not None and suppliers != state.suppliers:
            self.ctx.report.noticed.append(
                Note(
                    c.sp.path,
                    c.origin.record,
                    "suppliers changed: not recorded (a novation or membership change is "
                    "recorded by hand as Restructured)",
                    f"{award.field}.suppliers",
                )
            )
            state.suppliers = suppliers
        if closing:
            if ends_on is not None:
                why = "; ".join(
                    w for w in (why, f"end moved from {old_end} to {ends_on} as it closed") if w
                )
            self._endings(c, state, award, contract, why, on=ends_on)

    def _closes(self, c: Ctx, state: _State, contract: f.Located | None) -> bool:
        """Whether the release says the contract ended (terminated, or completed)."""
        status = contract.value.get("status") if contract else None
        return "contractTermination" in self._tags(c, state) or status == "terminated"

    def _restates(self, c: Ctx, state: _State, fresh: list[Any], closing: bool) -> bool:
        """A later award notice (`award`, `awardUpdate`) before any change to the contract was
        recorded: what it states is what was awarded, restated (a typo put right), not a
        variation from its date."""
        tags = f.tags(c.release)
        return (
            bool(tags & AWARD_NOTICES)
            and not tags & CONTRACT_NOTICES
            and not (state.changed or fresh or closing or c.sp.compiled)
        )

    def _correct(
        self,
        c: Ctx,
        state: _State,
        start: str,
        end: str,
        gbp: Decimal,
        title: str | None,
        value_field: str,
    ) -> None:
        """The award as restated: a `Corrected` of the award event naming what changed."""
        rate = gbp if self.ctx.options.value_basis == "annual" else annualise(gbp, start, end)
        rate = Decimal(pounds(value_field, rate))
        fields: dict[str, Any] = {}
        said: list[str] = []
        if (start, end) != (state.start, state.end):
            fields.update(start=start, end=end)
            said.append(f"term {state.start}..{state.end} -> {start}..{end}")
        if gbp != state.amount:
            said.append(f"value {pounds(value_field, state.amount)} -> {pounds(value_field, gbp)}")
        if rate != state.rate:
            fields["annual_value"] = f"{rate:.2f}"
        if state.title is not None and title is not None and title != state.title:
            fields["title"] = title
            said.append(f"title {state.title!r} -> {title!r}")
        state.start, state.end, state.amount, state.rate = start, end, gbp, rate
        state.title = title or state.title
        if not fields:
            return
        tags = ", ".join(sorted(f.tags(c.release)))
        self._emit(
            c,
            state,
            "corrected",
            "Corrected",
            c.day,
            f"the source restated the award in release {c.sp.release_id} ({tags}) before any "
            f"change to the contract: {'; '.join(said)}",
            corrects=state.award_event_id,
            fields=fields,
        )

    def _retitle(self, c: Ctx, state: _State, title: str | None) -> None:
        """A title restated by a later release: the ledger has no event that renames an
        agreement, so the award's title is corrected (its rationale says by which release)."""
        if title is None:
            return
        if state.title is None:
            state.title = title
            return
        if title == state.title:
            return
        old, state.title = state.title, title
        self._emit(
            c,
            state,
            "retitled",
            "Corrected",
            c.day,
            f"the source restated the title in release {c.sp.release_id}: {old!r} -> {title!r}",
            corrects=state.award_event_id,
            fields={"title": title},
        )

    def _award_of(self, c: Ctx, state: _State) -> f.Located | None:
        """The state's award in the compiled release: by its id; for the first agreement, with
        no id to go by, the first award with suppliers no other agreement holds."""
        if state.award_id is not None:
            found = f.award_by_id(c.view, state.award_id)
            if found is not None:
                return found
        if state.lot is not None:
            return None
        taken = {k for k, s in self.states.items() if s is not state}
        return next(
            (a for a in f.awards_with_suppliers(c.view) if _key(a.value) not in taken), None
        )

    def _tags(self, c: Ctx, state: _State) -> set[str]:
        """The release's tags that concern this agreement: all of them in a process of one
        award; with several, only when the release itself names this award or its contract,
        or names no award nor contract at all (a notice about the whole process)."""
        tags = f.tags(c.release)
        several = (
            state.lot is not None
            or len(self.states) > 1
            or len(f.awards_with_suppliers(c.view)) > 1
            or len({str(x.get("awardID")) for x in f.items(c.view.get("contracts"))}) > 1
        )
        if not several or f.names_award(c.release, state.award_id):
            return tags
        return set()

    def _revalue(
        self,
        c: Ctx,
        state: _State,
        gbp: Decimal,
        old_end: str,
        decided: str,
        why: str,
        value_field: str,
    ) -> None:
        change = revalue(
            self.ctx.options.value_basis,
            old_amount=state.amount,
            new_amount=gbp,
            rate=state.rate,
            start=state.start,
            old_end=old_end,
            end=state.end,
            decided=decided,
        )
        state.amount = gbp
        if change is None:
            return
        rate, since = change
        new_rate = Decimal(pounds(value_field, rate))
        if new_rate == state.rate:
            return
        state.rate = new_rate
        self._emit(
            c,
            state,
            "varied",
            "Varied",
            c.day,
            why or None,
            annual_value=f"{new_rate:.2f}",
            applies_from=since,
        )

    def _endings(
        self,
        c: Ctx,
        state: _State,
        award: f.Located,
        contract: f.Located | None,
        why: str = "",
        *,
        snapshot: bool = False,
        on: str | None = None,
    ) -> bool:
        """An ending, when the release says the contract ended. In a snapshot (a compiled
        release, or the very release that first shows the award) the release's date is not
        when it ended: an ending before the end date is then reported, not recorded. `on`: the
        earlier end the closing release states, the day it ended."""
        if not self._closes(c, state, contract):
            return False
        if c.day < state.end and (snapshot or c.sp.compiled):
            self.ctx.report.noticed.append(
                Note(
                    c.sp.path,
                    c.origin.record,
                    f"contract terminated in a release dated {c.day} that also first shows it, "
                    f"before its end {state.end}: when it ended is unknown; no ending recorded",
                    f"{contract.field}.status" if contract else "contracts",
                )
            )
            state.done = True
            return True
        if on is not None and on < state.end:
            self._emit(c, state, "terminated", "Terminated", on, why or NOT_STATED)
        elif c.day < state.end:
            self._emit(c, state, "terminated", "Terminated", c.day, why or NOT_STATED)
        else:
            self._emit(c, state, "expired", "Expired", c.day, why or None)
        state.done = True
        return True

    def _emit(
        self,
        c: Ctx,
        state: _State,
        what: str,
        type_: str,
        day: str,
        why: str | None,
        **data: Any,
    ) -> None:
        record: dict[str, Any] = {
            "event_id": c.event_id(what, state.lot),
            "type": type_,
            "effective_on": max(day, state.awarded_on),
            "recorded_by": RECORDED_BY,
            "source": c.source,
            "agreement_id": state.agreement_id,
            **data,
        }
        if why:
            record["rationale"] = why
        if type_ in ("Extended", "Varied"):
            state.changed = True
        self.out.append((native(record, c.origin), c.origin))

    def _commissioner_attributes(self, view: dict[str, Any], buyer: f.Located) -> dict[str, Any]:
        ours = f.party_attributes(view, buyer.value)
        kinds = self.ctx.options.mapping.get("kinds") or {}
        name = f.party(view, buyer.value, buyer.field).name
        kind = ours.get("kind") or kinds.get(name) or kinds.get(str(buyer.value.get("id")))
        return {"kind": kind or f.commissioner_kind(name)}

    def _lead(self, commissioner_id: str, view: dict[str, Any], buyer: f.Located | None) -> Any:
        leads = self.ctx.options.mapping.get("leads") or {}
        name = f.party(view, buyer.value, buyer.field).name if buyer else None
        return leads.get(commissioner_id) or (leads.get(name) if name else None)


@dataclass
class Ctx:
    """One release being mapped: where it came from and the process's state after it."""

    process: _Process
    sp: Spooled
    release: dict[str, Any]
    view: dict[str, Any]
    origin: Origin
    source: str
    day: str

    def event_id(self, what: str, lot: str | None = None) -> str:
        """`ocds:<ocid>:<release id>:<what>`, and `:<award id>` after it for a further award."""
        base = f"ocds:{self.process.ocid}:{self.sp.release_id}:{what}"
        return base if lot is None else f"{base}:{lot}"


def map_process(ocid: str, releases: list[Spooled], ctx: Context) -> list[Staged]:
    """The native events of one contracting process (with none for a process never awarded)."""
    process = _Process(ocid, ctx)
    for sp in releases:
        process.release(sp)
    ctx.report.skipped.extend(
        note for key, note in process.missing.items() if key not in process.states
    )
    if len(process.states) > 1:
        ctx.report.multi_award.update(s.agreement_id for s in process.states.values())
    return process.out


def _upgraded(sp: Spooled) -> dict[str, Any]:
    release = sp.release
    version = sp.document.version if sp.document.package else None
    if version is None:
        version = "1.1" if "parties" in release else "1.0"
    if version == "1.0":
        upgrade_release_10_11(release, reorder=False)
    return release


def _agreement_id(view: dict[str, Any], ocid: str) -> str:
    ours = f.obj(view.get(f.EXTENSION))
    given = ours.get("agreementId")
    return given if isinstance(given, str) and given.strip() else ocid


def _lot_id(ocid: str, award_id: str) -> str:
    """The agreement of a further award of a process: deterministic, so a re-import finds it."""
    return f"{ocid}/{award_id}"


def _key(award: dict[str, Any]) -> str | None:
    ident = award.get("id")
    return str(ident) if ident is not None else None


def _supplier_refs(award: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(s.get("id") if s.get("id") is not None else s.get("name"))
        for s in f.items(award.get("suppliers"))
    )


def _seeded(agreement: Any, award_id: str | None, lot: str | None) -> _State:
    """The state of an agreement an earlier import (or a person) recorded, to continue from."""
    terms = agreement.terms()
    award = terms.award
    rate = Decimal(terms.values[-1][1]) if terms.values else Decimal(0)
    return _State(
        terms.agreement_id,
        award.event_id if award else agreement.facts[0].event.event_id,
        award_id,
        award.effective_on if award else agreement.facts[0].event.effective_on,
        terms.start,
        terms.end,
        whole_life_of(terms.values, terms.start, terms.end),
        rate,
        None,
        done=terms.ended is not None or award is None,
        lot=lot,
        title=award.data.get("title") if award else None,
        changed=len(terms.values) > 1 or len(terms.terms) > 1,
    )
