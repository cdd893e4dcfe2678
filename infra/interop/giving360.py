"""`cledger import --format 360giving FILE...`: 360Giving grants (JSON packages or CSV) as awards.

Each grant -> `GrantAwarded` (kind `grant`): `amountAwarded` over `plannedDates` -> an annual
value (a duration in months stands in for a missing end); `recipientOrganization` -> provider
(charity and company numbers kept; a recipient with a charity number is `third_sector`, others
`unknown`); `fundingOrganization` -> commissioner (or `--commissioner`); `fromOpenCall` `Yes` ->
`grant_round`, `No` -> `direct_award`, absent -> `unknown`; the grant programme's title ->
service category through the mapping's `[programmes]` table, else `unknown`.

CSV files may use 360Giving's column titles (`Recipient Org:Charity Number`) or JSON paths
(`recipientOrganization/0/charityNumber`): both are read.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ijson
import orjson

from domain.catalogue import NOT_STATED
from domain.ledger import Ledger
from infra.interop.amounts import (
    add_days,
    annualise,
    day_first_date,
    days_inclusive,
    decimal_amount,
    in_pounds,
    iso_day,
    pounds,
    term_in_range,
)
from infra.interop.bounds import (
    TooDeep,
    cell_problem,
    csv_refusal,
    json_problem,
    one_line,
    parse_events,
    wide_csv_cells,
)
from infra.interop.encoding import detect_encoding, open_text, open_utf8
from infra.interop.ocds_fields import commissioner_kind
from infra.interop.options import ImportOptions
from infra.interop.parties import Party, PartyBook, identifier_key, match_key
from infra.interop.report import BadValue, InteropReport, Missing, Note, Origin, RecordRefused
from infra.interop.staging import Staged, native, store

RECORDED_BY = "import:360giving"
_CHARITY_SCHEMES = ("GB-CHC", "GB-SC", "GB-NIC")


def import_360giving(
    ledger: Ledger, paths: Sequence[Path], options: ImportOptions
) -> InteropReport:
    report = InteropReport("360giving", files=[str(p) for p in paths], unit="grants")
    parties = PartyBook(
        ledger, fmt="360giving", providers=report.providers, commissioners=report.commissioners
    )
    staged: list[Staged] = []
    seen: dict[str, tuple[bytes, str]] = {}
    for path in paths:
        encoding = detect_encoding(path)
        report.encodings[str(path)] = encoding
        for where, grant in _grants(path, encoding):
            report.read += 1
            grant_id = str(grant.get("id") or "").strip()
            origin = Origin(str(path), f"{where} ({grant_id or 'no id'})")
            if not grant_id:
                raise origin.refuse("is missing; expected the grant's identifier", "id")
            digest = hashlib.blake2b(orjson.dumps(grant, option=orjson.OPT_SORT_KEYS)).digest()
            if grant_id in seen:
                if seen[grant_id][0] == digest:
                    report.duplicates += 1
                    continue
                raise origin.refuse(
                    f"grant id '{grant_id}' was already read, with different content, from "
                    f"{seen[grant_id][1]}; expected each grant once (identical copies are ignored)",
                    "id",
                )
            seen[grant_id] = (digest, f"{path} {where}")
            try:
                staged.append(_grant(grant, grant_id, path, origin, options, parties, report))
            except Missing as missing:
                report.skipped.append(
                    Note(str(path), origin.record, missing.problem, missing.field)
                )
            except BadValue as bad:
                raise origin.refuse(bad.problem, bad.field) from None
    store(ledger, parties.registrations() + staged, report)
    return report


def _grants(path: Path, encoding: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each grant of a file with where it is (`row 7`, `grants[3]`), each within the bounds."""
    if path.suffix.lower() == ".csv":
        yield from _csv_grants(path, encoding)
        return
    with open_utf8(path, encoding) as stream:
        i = 0
        try:
            events = parse_events(stream, use_float=True)
            for i, grant in enumerate(ijson.items(events, "grants.item")):
                if not isinstance(grant, dict):
                    raise RecordRefused(str(path), f"grants[{i}]", "expected a grant object")
                problem = json_problem(grant)
                if problem is not None:
                    raise RecordRefused(str(path), f"grants[{i}]", problem[1], problem[0])
                yield f"grants[{i}]", grant
        except TooDeep as deep:
            raise RecordRefused(str(path), "(the document)", str(deep), deep.path) from None
        except (ijson.JSONError, ValueError) as err:
            raise RecordRefused(
                str(path), "(the document)", f"malformed JSON ({one_line(str(err))})"
            ) from None


def _csv_grants(path: Path, encoding: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with wide_csv_cells(), open_text(path, encoding) as handle:
        reader = csv.reader(handle)
        number = 0
        try:
            header = next(reader, [])
            number = 1
            for number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                problem = cell_problem(cells, header)
                if problem is not None:
                    raise RecordRefused(str(path), f"row {number}", problem[1], problem[0])
                yield f"row {number}", _unflatten(dict(zip(header, cells, strict=False)))
        except csv.Error as err:
            raise RecordRefused(str(path), f"row {number + 1}", csv_refusal(err)) from None


_COLUMNS = {
    "identifier": ("id",),
    "id": ("id",),
    "title": ("title",),
    "description": ("description",),
    "currency": ("currency",),
    "amountawarded": ("amountAwarded",),
    "awarddate": ("awardDate",),
    "fromanopencall": ("fromOpenCall",),
    "fromopencall": ("fromOpenCall",),
    "planneddatesstartdate": ("plannedDates", "startDate"),
    "planneddatesenddate": ("plannedDates", "endDate"),
    "planneddatesdurationmonths": ("plannedDates", "duration"),
    "planneddatesduration": ("plannedDates", "duration"),
    "recipientorgidentifier": ("recipientOrganization", "id"),
    "recipientorganizationid": ("recipientOrganization", "id"),
    "recipientorgname": ("recipientOrganization", "name"),
    "recipientorganizationname": ("recipientOrganization", "name"),
    "recipientorgcharitynumber": ("recipientOrganization", "charityNumber"),
    "recipientorganizationcharitynumber": ("recipientOrganization", "charityNumber"),
    "recipientorgcompanynumber": ("recipientOrganization", "companyNumber"),
    "recipientorganizationcompanynumber": ("recipientOrganization", "companyNumber"),
    "fundingorgidentifier": ("fundingOrganization", "id"),
    "fundingorganizationid": ("fundingOrganization", "id"),
    "fundingorgname": ("fundingOrganization", "name"),
    "fundingorganizationname": ("fundingOrganization", "name"),
    "grantprogrammetitle": ("grantProgramme", "title"),
}


def _unflatten(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row (titles or JSON paths as headers) as a 360Giving grant object."""
    grant: dict[str, Any] = {}
    for header, cell in row.items():
        if header is None or cell is None or not str(cell).strip():
            continue
        key = re.sub(r"[^a-z]", "", re.sub(r"/\d+/", "/", header.lower()))
        path = _COLUMNS.get(key)
        if path is None:
            continue
        if len(path) == 1:
            grant[path[0]] = cell.strip()
        else:
            grant.setdefault(path[0], [{}])[0][path[1]] = cell.strip()
    return grant


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def _org(value: dict[str, Any], field: str) -> Party:
    keys = [identifier_key(*_split(value.get("id")))]
    keys.append(identifier_key("GB-CHC", value.get("charityNumber")))
    keys.append(identifier_key("GB-COH", value.get("companyNumber")))
    by_match = {match_key(k): k for k in reversed(keys) if k}  # the first spelling of each
    identifiers = tuple(dict.fromkeys(by_match[match_key(k)] for k in keys if k))
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        if not identifiers:
            raise Missing(f"{field}.name", "an organisation with neither a name nor an identifier")
        name = identifiers[0]
    return Party(" ".join(name.split()), identifiers)


def _split(org_id: Any) -> tuple[str | None, str | None]:
    """`GB-CHC-1000001` -> (`GB-CHC`, `1000001`): org-id prefixes are two parts."""
    if not isinstance(org_id, str) or not org_id.strip():
        return None, None
    parts = org_id.strip().split("-", 2)
    if len(parts) == 3:
        return f"{parts[0]}-{parts[1]}", parts[2]
    return "X-360G", org_id.strip()


def _grant(
    grant: dict[str, Any],
    grant_id: str,
    path: Path,
    origin: Origin,
    options: ImportOptions,
    parties: PartyBook,
    report: InteropReport,
) -> Staged:
    awarded = _date("awardDate", grant.get("awardDate"))
    planned = _first(grant.get("plannedDates"))
    start = _date("plannedDates.startDate", planned.get("startDate")) or awarded
    if start is None:
        raise Missing("plannedDates.startDate", "no planned start date nor award date")
    end = _date("plannedDates.endDate", planned.get("endDate"))
    if end is None:
        months = decimal_amount("plannedDates.duration", planned.get("duration"))
        if months is None or months <= 0:
            raise Missing("plannedDates.endDate", "no planned end date nor duration")
        if months > 2400:
            raise BadValue("plannedDates.duration", f"is {months} months; expected at most 2400")
        end = add_days(_add_months(start, int(months)), -1, "plannedDates.duration")
    if end < start:
        raise BadValue("plannedDates.endDate", f"is {end}, before the start {start}")
    term_in_range(start, end, "plannedDates.startDate", "plannedDates.endDate")
    amount = decimal_amount("amountAwarded", grant.get("amountAwarded"))
    if amount is None:
        raise Missing("amountAwarded", "no amount awarded")
    gbp, fx_note = in_pounds("currency", amount, grant.get("currency"), options.rates)
    notes = [n for n in (fx_note,) if n]
    rate = gbp
    if options.value_basis == "whole-life":
        rate = annualise(gbp, start, end)
        notes.append(
            f"annual value = amount awarded {pounds('amountAwarded', gbp)} x 365 / "
            f"{days_inclusive(start, end)} days"
        )
    day = awarded or start
    source = "; ".join([f"360Giving grant {grant_id}", *notes])
    recipient = _first(grant.get("recipientOrganization"))
    party = _org(recipient, "recipientOrganization")
    charity = any(
        match_key(k).startswith(s + "-") for k in party.identifiers for s in _CHARITY_SCHEMES
    )
    provider_id = parties.resolve(
        "provider",
        party,
        day,
        origin,
        source,
        sector="third_sector" if charity else "unknown",
        size_band="unknown",
    )
    if options.commissioner:
        commissioner_id = options.commissioner
    else:
        funder = _org(_first(grant.get("fundingOrganization")), "fundingOrganization")
        kinds = options.mapping.get("kinds") or {}
        commissioner_id = parties.resolve(
            "commissioner",
            funder,
            day,
            origin,
            source,
            kind=kinds.get(funder.name) or commissioner_kind(funder.name),
        )
    open_call = str(grant.get("fromOpenCall") or "").strip().lower()
    route = {"yes": "grant_round", "true": "grant_round", "no": "direct_award"}.get(
        open_call, "unknown"
    )
    programme = _text("grantProgramme.title", _first(grant.get("grantProgramme")).get("title"))
    title = _text("title", grant.get("title"))
    categories = options.mapping.get("programmes") or {}
    record: dict[str, Any] = {
        "event_id": f"360giving:{grant_id}:award",
        "type": "GrantAwarded",
        "effective_on": day,
        "recorded_by": RECORDED_BY,
        "rationale": NOT_STATED,
        "source": source,
        "agreement_id": grant_id,
        "kind": "grant",
        "title": " ".join((title or programme or grant_id).split())[:300],
        "service_category": categories.get(programme, "unknown") if programme else "unknown",
        "commissioners": [{"commissioner_id": commissioner_id, "share": "1"}],
        "providers": [{"provider_id": provider_id, "role": "sole", "share": "1"}],
        "annual_value": pounds("amountAwarded", rate),
        "start": start,
        "end": end,
        "route": route,
        "funding_stream": "unknown",
    }
    lead = (options.mapping.get("leads") or {}).get(commissioner_id)
    if lead:
        record["responsible_lead"] = lead
    report.agreements.add(grant_id)
    return native(record, origin), origin


def _text(field: str, value: Any) -> str | None:
    """A text field: a string, or None when absent; anything else refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise BadValue(field, f"is {one_line(repr(value), 80)}; expected text")
    return value


def _date(field: str, value: Any) -> str | None:
    try:
        return iso_day(field, value)
    except BadValue:
        return day_first_date(field, value)


def _add_months(day: str, months: int) -> str:
    when = dt.date.fromisoformat(day)
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise BadValue("plannedDates.duration", f"{months} months from {day} is past the calendar")
    return dt.date(year, month, min(when.day, calendar.monthrange(year, month)[1])).isoformat()
