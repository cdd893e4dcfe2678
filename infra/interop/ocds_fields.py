"""Reading the facts the ledger needs out of a compiled OCDS release: parties, term, value,
route, category, rationale. Each reader names the OCDS field it read, so a refusal or a skip can
say which one was wrong or missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.catalogue import NOT_STATED
from infra.interop.amounts import add_days, decimal_amount, iso_day, term_in_range
from infra.interop.options import ImportOptions
from infra.interop.parties import Party, identifier_key, match_key
from infra.interop.report import BadValue, Missing

EXTENSION = "cledger"  # our own namespace in releases and parties (README: "OCDS export")
CATEGORY_SCHEME = "CLEDGER-CATEGORY"  # classification scheme of our own service categories
ROUTES = {
    "open": "competitive_tender",
    "selective": "competitive_tender",
    "limited": "direct_award",
    "direct": "direct_award",
}
_FRAMEWORK = re.compile(r"framework|call[- ]off", re.IGNORECASE)
_CPV = re.compile(r"^(\d{8})")
_KINDS = (
    (re.compile(r"integrated care board|\bicb\b", re.I), "icb"),
    (re.compile(r"clinical commissioning group|\bccg\b", re.I), "ccg"),
    (re.compile(r"commissioning support unit|\bcsu\b", re.I), "csu"),
    (re.compile(r"primary care trust|\bpct\b", re.I), "pct"),
    (re.compile(r"strategic health authority|\bsha\b", re.I), "sha"),
    (re.compile(r"nhs england|nhs commissioning board", re.I), "nhse"),
    (
        re.compile(
            r"council|borough|county|city of|metropolitan|district|combined authority", re.I
        ),
        "council",
    ),
    (re.compile(r"\bnhs\b|national health service", re.I), "unknown"),
)


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def tags(release: dict[str, Any]) -> set[str]:
    """A release's tags: the strings of its `tag` list (a lone string taken as one tag)."""
    value = release.get("tag")
    if isinstance(value, str):
        return {value}
    return {t for t in value if isinstance(t, str)} if isinstance(value, list) else set()


def commissioner_kind(name: str) -> str:
    """NHS commissioners and councils by their names; an NHS body of no commissioning kind is
    `unknown`; any other public buyer `other_public`."""
    for pattern, kind in _KINDS:
        if pattern.search(name):
            return kind
    return "other_public"


@dataclass(frozen=True)
class Located:
    """A value and the OCDS field it was read from."""

    value: Any
    field: str


def party(release: dict[str, Any], ref: Any, field: str) -> Party:
    """An organisation reference resolved through `parties` (its identifiers, our extension)."""
    ref = obj(ref)
    full = {}
    if ref.get("id") is not None:
        full = next(
            (p for p in items(release.get("parties")) if str(p.get("id")) == str(ref["id"])), {}
        )
    org = {**ref, **full}
    identifiers: list[str] = []  # as published; one spelling of each
    for ident in [obj(org.get("identifier")), *items(org.get("additionalIdentifiers"))]:
        key = identifier_key(ident.get("scheme"), ident.get("id"))
        if key and match_key(key) not in {match_key(i) for i in identifiers}:
            identifiers.append(key)
    name = org.get("name") or obj(org.get("identifier")).get("legalName")
    if not isinstance(name, str) or not name.strip():
        if not identifiers:
            raise Missing(f"{field}.name", "an organisation with neither a name nor an identifier")
        name = identifiers[0]
    ours = obj(org.get(EXTENSION))
    ledger_id = ours.get("id") if isinstance(ours.get("id"), str) else None
    return Party(" ".join(name.split()), tuple(identifiers), ledger_id)


def party_attributes(release: dict[str, Any], ref: Any) -> dict[str, Any]:
    """What our own extension says of a party (kind, sector, size band), if anything."""
    ref = obj(ref)
    full = next(
        (p for p in items(release.get("parties")) if str(p.get("id")) == str(ref.get("id"))), {}
    )
    return obj(full.get(EXTENSION)) or obj(ref.get(EXTENSION))


def buyer(release: dict[str, Any]) -> Located | None:
    if obj(release.get("buyer")):
        return Located(release["buyer"], "buyer")
    tender = obj(release.get("tender"))
    if obj(tender.get("procuringEntity")):
        return Located(tender["procuringEntity"], "tender.procuringEntity")
    roles = [p for p in items(release.get("parties")) if "buyer" in (p.get("roles") or [])]
    if roles:
        return Located({"id": roles[0].get("id"), "name": roles[0].get("name")}, "parties")
    return None


def awards_with_suppliers(release: dict[str, Any]) -> list[Located]:
    """The awards that name a supplier: each one an agreement (a lot, when there are several)."""
    return [
        Located(award, f"awards[{i}]")
        for i, award in enumerate(items(release.get("awards")))
        if items(award.get("suppliers"))
    ]


def names_award(release: dict[str, Any], award_id: str | None) -> bool:
    """Whether a release itself speaks of this award: one of its awards has the id, or one of
    its contracts the `awardID`; or it names no award and no contract (a notice about the
    whole process, such as a tender cancellation)."""
    awards, contracts = items(release.get("awards")), items(release.get("contracts"))
    if not awards and not contracts:
        return True
    if award_id is None:
        return False
    return any(str(a.get("id")) == award_id for a in awards) or any(
        str(c.get("awardID")) == award_id for c in contracts
    )


def award_by_id(release: dict[str, Any], award_id: Any) -> Located | None:
    for i, award in enumerate(items(release.get("awards"))):
        if str(award.get("id")) == str(award_id):
            return Located(award, f"awards[{i}]")
    return None


def contract_for(release: dict[str, Any], award: dict[str, Any]) -> Located | None:
    contracts = items(release.get("contracts"))
    for i, contract in enumerate(contracts):
        if award.get("id") is not None and str(contract.get("awardID")) == str(award["id"]):
            return Located(contract, f"contracts[{i}]")
    if len(contracts) == 1 and len(items(release.get("awards"))) <= 1:
        return Located(contracts[0], "contracts[0]")
    return None


def term(
    release: dict[str, Any], award: Located, contract: Located | None, release_day: str
) -> tuple[str, str, str]:
    """(start, end, the field the end came from): the contract's period when it has an end,
    else the award's `contractPeriod`. A missing start is the date signed, awarded or released;
    a missing end is the start plus `durationInDays`, else the record cannot be mapped."""
    candidates = []
    if contract is not None:
        candidates.append(Located(obj(contract.value.get("period")), f"{contract.field}.period"))
    candidates.append(
        Located(obj(award.value.get("contractPeriod")), f"{award.field}.contractPeriod")
    )
    period = next((c for c in candidates if c.value.get("endDate")), None)
    period = period or next((c for c in candidates if c.value), candidates[-1])
    start = iso_day(f"{period.field}.startDate", period.value.get("startDate"))
    if start is None and contract is not None:
        start = iso_day(f"{contract.field}.dateSigned", contract.value.get("dateSigned"))
    start = start or iso_day(f"{award.field}.date", award.value.get("date")) or release_day
    end = iso_day(f"{period.field}.endDate", period.value.get("endDate"))
    if end is None:
        days = period.value.get("durationInDays")
        if isinstance(days, int) and not isinstance(days, bool) and days > 0:
            end = add_days(start, days - 1, f"{period.field}.durationInDays")
    if end is None:
        raise Missing(f"{period.field}.endDate", "no contract end date (nor durationInDays)")
    if end < start:
        raise BadValue(
            f"{period.field}.endDate", f"is {end}, before the start {start}; expected end >= start"
        )
    term_in_range(start, end, f"{period.field}.startDate", f"{period.field}.endDate")
    return start, end, f"{period.field}.endDate"


def value(award: Located, contract: Located | None) -> tuple[Decimal, Any, str]:
    """(amount, currency, field) of the contract's value, else the award's."""
    for where in (contract, award):
        if where is None:
            continue
        found = obj(where.value.get("value"))
        amount = decimal_amount(f"{where.field}.value.amount", found.get("amount"))
        if amount is not None:
            if amount < 0:
                raise BadValue(f"{where.field}.value.amount", f"is {amount}; expected >= 0")
            return amount, found.get("currency"), f"{where.field}.value"
    raise Missing(f"{award.field}.value.amount", "no value stated for the award or its contract")


def route(release: dict[str, Any]) -> str:
    tender = obj(release.get("tender"))
    details = tender.get("procurementMethodDetails")
    if isinstance(details, str) and _FRAMEWORK.search(details):
        return "framework"
    return ROUTES.get(str(tender.get("procurementMethod") or "").strip().lower(), "unknown")


def rationale(release: dict[str, Any]) -> str:
    tender = obj(release.get("tender"))
    for key in ("procurementMethodRationale", "procurementMethodDetails"):
        text = tender.get(key)
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())
    return NOT_STATED


def title(release: dict[str, Any], award: dict[str, Any], contract: Located | None) -> str:
    for candidate in (
        obj(release.get("tender")).get("title"),
        award.get("title"),
        contract.value.get("title") if contract else None,
        obj(release.get("tender")).get("description"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return " ".join(candidate.split())[:300]
    return str(release.get("ocid"))


def states_title(release: dict[str, Any]) -> bool:
    """Whether a release itself (not the process compiled so far) states a title: only then
    can it restate one."""
    tender = obj(release.get("tender"))
    found = [tender.get("title"), tender.get("description")]
    found += [a.get("title") for a in items(release.get("awards"))]
    found += [x.get("title") for x in items(release.get("contracts"))]
    return any(isinstance(t, str) and t.strip() for t in found)


def service_category(
    release: dict[str, Any], award: dict[str, Any], options: ImportOptions
) -> tuple[str, str | None]:
    """(category, the CPV code it came from): our own scheme as it is; a CPV code through
    `--categories` when a prefix matches, else `cpv-<8 digits>`; `unknown` with no CPV at all."""
    tender = obj(release.get("tender"))
    classifications = [obj(tender.get("classification"))]
    for item in items(tender.get("items")) + items(award.get("items")):
        classifications.append(obj(item.get("classification")))
    for c in classifications:
        if str(c.get("scheme") or "").upper() == CATEGORY_SCHEME and c.get("id"):
            return str(c["id"]), None
    for c in classifications:
        if str(c.get("scheme") or "").upper().startswith("CPV"):
            match = _CPV.match(str(c.get("id") or "").strip())
            if match:
                cpv = match.group(1)
                return options.category_for_cpv(cpv) or f"cpv-{cpv}", cpv
    return "unknown", None


def amendments(contract: Located | None) -> list[dict[str, Any]]:
    return items(contract.value.get("amendments")) if contract else []


def amendment_key(amendment: dict[str, Any]) -> str:
    ident = amendment.get("id")
    if ident is not None:
        return str(ident)
    return f"{amendment.get('date')}|{amendment.get('rationale')}|{amendment.get('description')}"
