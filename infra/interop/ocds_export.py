"""`cledger export --format ocds`: one OCDS 1.1 release package per agreement.

Each event of the agreement's timeline (corrections applied) becomes a release, dated its
effective date, whose id is the event's id:
- an award -> `award` + `contract` (buyer, suppliers, term, whole-life value, route as
  `procurementMethod`, our service category as classification scheme `CLEDGER-CATEGORY`);
- a rollover, extension or variation -> `contractAmendment` (the new period and whole-life value,
  and an amendment carrying the rationale);
- a termination, decommissioning or expiry -> `contractTermination` (contract status
  `terminated`); a rescinded award -> a further `awardCancellation` release;
- a restructure, re-procurement, settlement or handover -> `awardUpdate` / `contractUpdate`.
Every release also carries, in our `cledger` extension, the agreement id and the native event
it was written from (FORMAT.md), so nothing the ledger knows is lost; handovers and settlements
exist only there. The whole-life amount is what the agreement costs over its term under its
annual values in time (`whole_life_of`), which the importer inverts exactly.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson

from domain.agreements import AgreementTerms, agreement_terms
from domain.catalogue import AWARD_TYPES, ENDING_TYPES, LedgerEvent
from domain.errors import LedgerError
from domain.ledger import Ledger, StoredFact
from domain.timeline import Fact, in_force
from infra.interop.amounts import whole_life_of
from infra.interop.ocds_fields import CATEGORY_SCHEME, EXTENSION
from infra.interop.ocds_schema import package_errors
from infra.interop.parties import identifier_key

OCID_PREFIX = "ocds-cledger-"
PUBLISHER = {"name": "Commissioning Ledger export"}
METHODS = {
    "competitive_tender": ("open", "Competitive tender"),
    "grant_round": ("open", "Grant round"),
    "direct_award": ("limited", "Direct award"),
    "framework": ("limited", "Call-off from a framework"),
    "spot": ("limited", "Spot purchase"),
}
_PLACES = Decimal("0.000001")
_IDENTIFIERS = (("charity_number", "GB-CHC"), ("company_number", "GB-COH"), ("ods_code", "GB-NHS"))


class _Organisations:
    """Names in time and attributes of providers and commissioners, from their events."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        self.attributes: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, event: LedgerEvent) -> None:
        kind = event.spec.subject
        ref = (kind, event.data[f"{kind}_id"])
        if "name" in event.data:
            self.names[ref].append((event.effective_on, event.data["name"]))
        if event.type in ("ProviderRegistered", "CommissionerEstablished"):
            self.attributes[ref] = dict(event.data)
        elif event.type == "ProviderReclassified":
            self.attributes.setdefault(ref, {}).update(
                {k: event.data[k] for k in ("sector", "size_band") if k in event.data}
            )

    def party(self, kind: str, ref: str, day: str, roles: list[str]) -> dict[str, Any]:
        names = sorted(self.names.get((kind, ref), []))
        name = next((n for d, n in reversed(names) if d <= day), names[0][1] if names else ref)
        attrs = self.attributes.get((kind, ref), {})
        party: dict[str, Any] = {"id": f"{kind}:{ref}", "name": name, "roles": roles}
        keys = [
            identifier_key(scheme, attrs.get(field))
            for field, scheme in _IDENTIFIERS
            if attrs.get(field)
        ]
        keys = [k for k in keys if k]
        if keys:
            party["identifier"] = _identifier(keys[0])
            if keys[1:]:
                party["additionalIdentifiers"] = [_identifier(k) for k in keys[1:]]
        ours: dict[str, Any] = {"id": ref}
        for field in ("kind", "sector", "size_band"):
            if attrs.get(field):
                ours[field] = attrs[field]
        party[EXTENSION] = ours
        return party


def _identifier(key: str) -> dict[str, str]:
    for _, scheme in _IDENTIFIERS:
        if key.startswith(scheme + "-"):
            return {"scheme": scheme, "id": key[len(scheme) + 1 :]}
    scheme, _, ident = key.rpartition("-")
    return {"scheme": scheme, "id": ident}


def _instant(day: str) -> str:
    return f"{day}T00:00:00Z"


def _amount(value: Decimal) -> float:
    return float(value.quantize(_PLACES).normalize())


def _gather(ledger: Ledger) -> tuple[dict[str, list[StoredFact]], _Organisations, dict[str, Any]]:
    by_agreement: dict[str, list[StoredFact]] = defaultdict(list)
    organisations = _Organisations()
    owner: dict[str, str] = {}  # event id -> agreement id
    handovers: dict[str, list[StoredFact]] = defaultdict(list)
    for fact in ledger.facts():
        event = fact.event
        kind = event.spec.subject
        if kind in ("provider", "commissioner"):
            organisations.add(event)
        elif kind == "agreement":
            owner[event.event_id] = event.data["agreement_id"]
            by_agreement[event.data["agreement_id"]].append(fact)
        elif kind == "target":
            target = event.data.get("corrects") or event.data.get("rescinds")
            if target in owner:
                by_agreement[owner[target]].append(fact)
        elif event.type == "HandedOver":
            for agreement_id in fact.moved:
                handovers[agreement_id].append(fact)
    return by_agreement, organisations, handovers


def packages(ledger: Ledger) -> Iterator[dict[str, Any]]:
    """One release package per agreement, in agreement-id order."""
    by_agreement, organisations, handovers = _gather(ledger)
    for agreement_id in sorted(by_agreement):
        facts = by_agreement[agreement_id]
        yield _Package(agreement_id, facts, handovers.get(agreement_id, []), organisations).build()


class _Package:
    def __init__(
        self,
        agreement_id: str,
        facts: list[StoredFact],
        handovers: list[StoredFact],
        organisations: _Organisations,
    ):
        self.agreement_id = agreement_id
        self.ocid = OCID_PREFIX + agreement_id
        self.facts = [Fact(f.notification_id, f.event, f.recorded_at) for f in facts]
        self.handovers = handovers
        self.orgs = organisations
        self.award_release_id = ""

    def build(self) -> dict[str, Any]:
        releases: list[tuple[tuple[str, int], dict[str, Any]]] = []
        award = next((f for f in self.facts if f.event.type in AWARD_TYPES), None)
        rescission = next(
            (
                f
                for f in self.facts
                if f.event.type == "Rescinded"
                and award
                and f.event.data["rescinds"] == award.event.event_id
            ),
            None,
        )
        if award is not None and rescission is not None:
            # the award never took effect: published, then cancelled (nothing after it counts)
            terms = agreement_terms(self.agreement_id, [award])
            releases.append(
                ((award.event.effective_on, award.seq), self._release(award.event, terms))
            )
            releases.append(
                (
                    (rescission.event.effective_on, rescission.seq),
                    self._cancellation(rescission.event),
                )
            )
        else:
            done: list[Fact] = []
            for fact in in_force(self.facts):
                done.append(fact)
                terms = agreement_terms(self.agreement_id, done)
                releases.append(
                    ((fact.event.effective_on, fact.seq), self._release(fact.event, terms))
                )
        for h in self.handovers:
            releases.append(
                (
                    (h.event.effective_on, h.notification_id),
                    self._update(h.event, {"handover": {"moved": list(h.moved)}}),
                )
            )
        releases.sort(key=lambda pair: pair[0])
        latest = max(f.recorded_at for f in self.facts)
        return {
            "uri": f"urn:cledger:agreement:{quote(self.agreement_id, safe='')}",
            "version": "1.1",
            "publishedDate": latest.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "publisher": PUBLISHER,
            "releases": [r for _, r in releases],
        }

    # -- releases -----------------------------------------------------------------------------
    def _base(self, event: LedgerEvent, tags: list[str]) -> dict[str, Any]:
        return {
            "ocid": self.ocid,
            "id": event.event_id,
            "date": _instant(event.effective_on),
            "tag": tags,
            "initiationType": "tender",
            EXTENSION: {"agreementId": self.agreement_id, "event": event.to_record()},
        }

    def _release(self, event: LedgerEvent, terms: AgreementTerms) -> dict[str, Any]:
        if event.type in AWARD_TYPES:
            return self._award(event, terms)
        if event.type in ("RolledOver", "Extended", "Varied"):
            return self._amendment(event, terms)
        if event.type in ENDING_TYPES:
            return self._termination(event)
        if event.type == "Restructured" and (
            event.data.get("providers") or event.data.get("provider_id")
        ):
            return self._suppliers_update(event, terms)
        return self._update(event, {})

    def _award(self, event: LedgerEvent, terms: AgreementTerms) -> dict[str, Any]:
        d = event.data
        day = event.effective_on
        release = self._base(event, ["award", "contract"])
        buyer = self._buyer(terms)
        suppliers = [p for p in d["providers"] if p["role"] != "subcontractor"]
        subcontractors = [p for p in d["providers"] if p["role"] == "subcontractor"]
        parties = [self.orgs.party("commissioner", buyer, day, ["buyer"])]
        parties += [
            self.orgs.party("commissioner", c["commissioner_id"], day, ["funder"])
            for c in d["commissioners"]
            if c["commissioner_id"] != buyer
        ]
        parties += [
            self.orgs.party("provider", p["provider_id"], day, ["supplier"]) for p in suppliers
        ]
        parties += [
            self.orgs.party("provider", p["provider_id"], day, ["interestedParty"])
            for p in subcontractors
        ]
        release["parties"] = parties
        release["buyer"] = {"id": parties[0]["id"], "name": parties[0]["name"]}
        tender: dict[str, Any] = {
            "id": f"{self.ocid}-tender",
            "title": d["title"],
            "mainProcurementCategory": "services",
            "classification": {"scheme": CATEGORY_SCHEME, "id": d["service_category"]},
        }
        if d["route"] in METHODS:
            tender["procurementMethod"], tender["procurementMethodDetails"] = METHODS[d["route"]]
        if event.rationale:
            tender["procurementMethodRationale"] = event.rationale
        release["tender"] = tender
        whole = {
            "amount": _amount(whole_life_of(terms.values, terms.start, terms.end)),
            "currency": "GBP",
        }
        period = {"startDate": _instant(d["start"]), "endDate": _instant(d["end"])}
        self.award_release_id = event.event_id
        release["awards"] = [
            {
                "id": "1",
                "title": d["title"],
                "date": _instant(day),
                "status": "active",
                "value": whole,
                "suppliers": [
                    {"id": p["id"], "name": p["name"]} for p in parties if "supplier" in p["roles"]
                ],
                "contractPeriod": period,
            }
        ]
        release["contracts"] = [
            {
                "id": "1",
                "awardID": "1",
                "title": d["title"],
                "status": "active",
                "period": period,
                "value": whole,
            }
        ]
        return release

    def _buyer(self, terms: AgreementTerms) -> str:
        ranked = sorted(terms.commissioners, key=lambda c: -Decimal(c["share"]))
        return str(ranked[0]["commissioner_id"])

    def _amendment(self, event: LedgerEvent, terms: AgreementTerms) -> dict[str, Any]:
        release = self._base(event, ["contractAmendment"])
        d = event.data
        when = d.get("applies_from") or event.effective_on
        what = {
            "RolledOver": f"Rolled over to {d.get('new_end')}",
            "Extended": f"Extended to {d.get('new_end')}",
            "Varied": "Varied" + (f": {d['scope']}" if d.get("scope") else ""),
        }[event.type]
        amendment: dict[str, Any] = {
            "id": event.event_id,
            "date": _instant(when),
            "description": what,
        }
        if event.rationale:
            amendment["rationale"] = event.rationale
        release["contracts"] = [
            {
                "id": "1",
                "awardID": "1",
                "period": {"startDate": _instant(terms.start), "endDate": _instant(terms.end)},
                "value": {
                    "amount": _amount(whole_life_of(terms.values, terms.start, terms.end)),
                    "currency": "GBP",
                },
                "amendments": [amendment],
            }
        ]
        return release

    def _termination(self, event: LedgerEvent) -> dict[str, Any]:
        release = self._base(event, ["contractTermination"])
        amendment: dict[str, Any] = {
            "id": event.event_id,
            "date": _instant(event.effective_on),
            "description": event.type,
        }
        if event.rationale:
            amendment["rationale"] = event.rationale
        release["contracts"] = [
            {"id": "1", "awardID": "1", "status": "terminated", "amendments": [amendment]}
        ]
        return release

    def _cancellation(self, event: LedgerEvent) -> dict[str, Any]:
        release = self._base(event, ["awardCancellation"])
        release["awards"] = [{"id": "1", "status": "cancelled"}]
        return release

    def _suppliers_update(self, event: LedgerEvent, terms: AgreementTerms) -> dict[str, Any]:
        release = self._base(event, ["awardUpdate"])
        day = event.effective_on
        suppliers = [p for p in terms.providers if p["role"] != "subcontractor"]
        parties = [
            self.orgs.party("provider", p["provider_id"], day, ["supplier"]) for p in suppliers
        ]
        release["parties"] = parties
        release["awards"] = [
            {"id": "1", "suppliers": [{"id": p["id"], "name": p["name"]} for p in parties]}
        ]
        return release

    def _update(self, event: LedgerEvent, extra: dict[str, Any]) -> dict[str, Any]:
        release = self._base(event, ["contractUpdate"])
        release[EXTENSION].update(extra)
        return release


def write_ocds(ledger: Ledger, target: Path | None, *, validate: bool = True) -> int:
    """Write the packages to `target`: a folder (an existing one, or a path with no file
    extension; one `<agreement>.json` each), a JSON Lines file, or standard output. Each
    package is checked against the OCDS 1.1 schema first."""
    n = 0
    folder = target is not None and (target.is_dir() or not target.suffix)
    if folder:
        assert target is not None
        target.mkdir(parents=True, exist_ok=True)
    out: IO[bytes] | None = None
    if not folder:
        out = target.open("wb") if target is not None else sys.stdout.buffer
    try:
        for package in packages(ledger):
            if validate:
                errors = package_errors(package)
                if errors:
                    raise LedgerError(
                        f"the OCDS package of {package['uri']} does not validate against the "
                        f"OCDS 1.1 schema: {'; '.join(errors)}"
                    )
            if folder:
                assert target is not None
                name = package["uri"].rsplit(":", 1)[-1] + ".json"
                (target / name).write_bytes(orjson.dumps(package, option=orjson.OPT_INDENT_2))
            else:
                assert out is not None
                out.write(orjson.dumps(package) + b"\n")
            n += 1
    finally:
        if out is not None and target is not None:
            out.close()
        elif out is not None:
            out.flush()
    return n
