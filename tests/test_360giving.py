"""360Giving grants (JSON and CSV) imported as GrantAwarded events; the awkward cases refused
or skipped naming file, record and field; re-import adds nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.catalogue import NOT_STATED
from domain.ledger import Ledger
from infra.interop.giving360 import import_360giving
from infra.interop.options import ImportOptions, load_mapping
from infra.interop.report import InteropReport, RecordRefused
from tests.builders import commissioner, provider
from tests.conftest import stored_rows

EXAMPLES = Path(__file__).parent.parent / "examples" / "360giving"


def grant(gid: str = "360G-t-1", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": gid,
        "title": "Peer support for young carers",
        "currency": "GBP",
        "amountAwarded": 73000,
        "awardDate": "2019-03-15",
        "plannedDates": [{"startDate": "2019-04-01", "endDate": "2021-03-31"}],
        "recipientOrganization": [
            {"id": "GB-CHC-1000001", "name": "Mind in Croydon", "charityNumber": "1000001"}
        ],
        "fundingOrganization": [{"id": "GB-LAE-CRY", "name": "London Borough of Croydon"}],
        "fromOpenCall": "Yes",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def write(path: Path, grants: list[dict[str, Any]]) -> Path:
    path.write_bytes(orjson.dumps({"grants": grants}))
    return path


def run(ledger: Ledger, *paths: Path, **options: Any) -> InteropReport:
    return import_360giving(ledger, list(paths), ImportOptions(**options))


def records(ledger: Ledger, type_: str) -> list[dict[str, Any]]:
    return [f.event.to_record() for f in ledger.facts() if f.event.type == type_]


def test_a_grant_becomes_an_award_with_an_annual_value(ledger: Ledger, tmp_path: Path) -> None:
    report = run(ledger, write(tmp_path / "g.json", [grant()]))
    (award,) = records(ledger, "GrantAwarded")
    assert award["agreement_id"] == "360G-t-1" and award["kind"] == "grant"
    assert (award["start"], award["end"]) == ("2019-04-01", "2021-03-31")
    assert award["annual_value"] == "36450.07"  # 73,000 x 365 / 731 days
    assert award["route"] == "grant_round" and award["rationale"] == NOT_STATED
    assert award["effective_on"] == "2019-03-15"
    assert award["commissioners"] == [{"commissioner_id": "gb-lae-cry", "share": "1"}]
    (recipient,) = records(ledger, "ProviderRegistered")
    assert recipient["provider_id"] == "gb-chc-1000001"
    assert recipient["charity_number"] == "1000001" and recipient["sector"] == "third_sector"
    (funder,) = records(ledger, "CommissionerEstablished")
    assert funder["kind"] == "council"
    assert (report.read, report.providers.created, report.commissioners.created) == (1, 1, 1)


def test_the_example_json_and_csv_are_the_same_grants(ledger: Ledger) -> None:
    mapping = load_mapping(EXAMPLES / "mapping.toml")
    first = run(ledger, EXAMPLES / "croydon-grants.json", mapping=mapping)
    assert first.recorded == 5
    rows = stored_rows(ledger)
    again = run(ledger, EXAMPLES / "croydon-grants.csv", mapping=mapping)
    assert (again.recorded, again.already_present) == (0, 2)
    assert again.providers.by_identifier == 2 and stored_rows(ledger) == rows
    awards = {a["agreement_id"]: a for a in records(ledger, "GrantAwarded")}
    pilot = awards["360G-croydon-2019-002"]
    assert pilot["end"] == "2019-12-31"  # six months from 1 July
    assert pilot["route"] == "direct_award" and pilot["rationale"] == NOT_STATED
    assert pilot["service_category"] == "crisis_support"
    assert pilot["responsible_lead"] == "grants.officer@croydon.example"
    company = [p for p in records(ledger, "ProviderRegistered") if "company_number" in p]
    assert company[0]["company_number"] == "09876543" and company[0]["sector"] == "unknown"


def test_csv_with_json_path_headers(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "paths.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "id",
                "title",
                "currency",
                "amountAwarded",
                "awardDate",
                "plannedDates/0/startDate",
                "plannedDates/0/endDate",
                "recipientOrganization/0/id",
                "recipientOrganization/0/name",
                "fundingOrganization/0/id",
                "fundingOrganization/0/name",
                "fromOpenCall",
            ]
        )
        out.writerow(
            [
                "360G-t-1",
                "Advice",
                "GBP",
                "£36,500.00",
                "2018-03-15",
                "2018-04-01",
                "2019-03-31",
                "",
                "Croydon Advice Centre",
                "GB-LAE-CRY",
                "London Borough of Croydon",
                "",
            ]
        )
    run(ledger, path)
    (award,) = records(ledger, "GrantAwarded")
    assert award["annual_value"] == "36500.00" and award["route"] == "unknown"
    assert award["providers"][0]["provider_id"] == "name-croydon-advice-centre"


def test_recipients_and_funders_matched_to_the_ledger(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record([commissioner("croydon"), provider("mind-croydon", charity_number="1000001")])
    report = run(ledger, write(tmp_path / "g.json", [grant()]), commissioner="croydon")
    (award,) = records(ledger, "GrantAwarded")
    assert award["providers"][0]["provider_id"] == "mind-croydon"
    assert award["commissioners"][0]["commissioner_id"] == "croydon"
    assert report.providers.by_identifier == 1 and report.providers.created == 0


def test_missing_dates_and_null_values(ledger: Ledger, tmp_path: Path) -> None:
    grants = [
        grant("360G-t-1", plannedDates=None, awardDate=None),
        grant("360G-t-2", amountAwarded=None),
        grant("360G-t-3", plannedDates=[{"startDate": "2019-04-01", "duration": 12}]),
        grant("360G-t-4", plannedDates=None),  # the award date starts it; no end: skipped
    ]
    report = run(ledger, write(tmp_path / "g.json", grants))
    assert {(n.record, n.field) for n in report.skipped} == {
        ("grants[0] (360G-t-1)", "plannedDates.startDate"),
        ("grants[1] (360G-t-2)", "amountAwarded"),
        ("grants[3] (360G-t-4)", "plannedDates.endDate"),
    }
    (award,) = records(ledger, "GrantAwarded")
    assert award["end"] == "2020-03-31"


def test_currency_duplicates_and_bad_records_refuse_everything(
    ledger: Ledger, tmp_path: Path
) -> None:
    euros = write(tmp_path / "eur.json", [grant(), grant("360G-t-2", currency="EUR")])
    with pytest.raises(RecordRefused) as caught:
        run(ledger, euros)
    assert f"{euros}: record grants[1] (360G-t-2), field 'currency'" in str(caught.value)
    assert stored_rows(ledger) == 0
    run(ledger, euros, rates={"EUR": __import__("decimal").Decimal("0.85")})
    assert len(records(ledger, "GrantAwarded")) == 2

    twice = write(tmp_path / "twice.json", [grant("360G-t-9"), grant("360G-t-9")])
    assert run(ledger, twice).duplicates == 1
    clash = write(tmp_path / "clash.json", [grant("360G-t-8"), grant("360G-t-8", title="Other")])
    with pytest.raises(RecordRefused, match=r"grants\[1\] \(360G-t-8\), field 'id'"):
        run(ledger, clash)
    backwards = grant(
        "360G-t-7", plannedDates=[{"startDate": "2020-04-01", "endDate": "2019-03-31"}]
    )
    with pytest.raises(RecordRefused, match="field 'plannedDates.endDate'"):
        run(ledger, write(tmp_path / "bad.json", [backwards]))


def test_latin_1_csv(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = (
        "Identifier,Title,Amount Awarded,Planned Dates:Start Date,Planned Dates:End Date,"
        "Recipient Org:Name,Funding Org:Name\n"
        "360G-t-1,Café drop-in,£10000,01/04/2018,31/03/2019,Café Bébé Counselling,"
        "Croydon Council\n"
    )
    path.write_bytes(text.encode("latin-1"))
    report = run(ledger, path)
    assert report.encodings[str(path)] in ("cp1252", "latin-1")
    (recipient,) = records(ledger, "ProviderRegistered")
    assert recipient["name"] == "Café Bébé Counselling"
    assert records(ledger, "GrantAwarded")[0]["annual_value"] == "10000.00"


def test_hostile_files_are_refused_naming_record_and_field(ledger: Ledger, tmp_path: Path) -> None:
    """A deep document stops at 64 levels at once; a long cell names its row and column."""
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"grants": ' + b"[" * 100_000)
    with pytest.raises(RecordRefused) as caught:
        run(ledger, deep)
    assert "record (the document), field 'grants[][]" in str(caught.value)
    assert "nested deeper than 64 levels" in str(caught.value)
    long = tmp_path / "long.csv"
    with long.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Identifier", "Title", "Amount Awarded", "Award Date"])
        out.writerow([])
        out.writerow(["360G-x-1", "t" * 140_000, "100", "2020-01-01"])
    with pytest.raises(RecordRefused) as caught:
        run(ledger, long)
    assert "record row 3, field 'Title': is 140,000 characters long" in str(caught.value)
    big = write(tmp_path / "big.json", [grant(title="t" * 100_001)])
    with pytest.raises(RecordRefused) as caught:
        run(ledger, big)
    assert "record grants[0], field 'title': is 100,001 characters long" in str(caught.value)
    assert stored_rows(ledger) == 0


def test_identifiers_are_kept_as_published_and_matched_ignoring_case(
    ledger: Ledger, tmp_path: Path
) -> None:
    """360Giving identifiers were stored upper-cased: now as the funder published them; the
    same organisation spelled otherwise later still matches it."""
    recipient = {"id": "360G-CroydonFdn-org-aB12", "name": "Thornton Heath Youth Club"}
    first = write(
        tmp_path / "a.json",
        [
            grant(
                "360G-CroydonFdn-g1",
                recipientOrganization=[{**recipient, "companyNumber": "sc012345"}],
            )
        ],
    )
    run(ledger, first)
    (registered,) = [
        f.event.to_record() for f in ledger.facts() if f.event.type == "ProviderRegistered"
    ]
    assert registered["org_identifiers"] == ["360G-CroydonFdn-org-aB12", "GB-COH-sc012345"]
    assert registered["company_number"] == "sc012345"
    (award,) = [f.event.to_record() for f in ledger.facts() if f.event.type == "GrantAwarded"]
    assert award["agreement_id"] == "360G-CroydonFdn-g1"
    other = {"id": "360g-croydonfdn-ORG-Ab12", "name": "THYC"}
    second = write(
        tmp_path / "b.json", [grant("360G-CroydonFdn-g2", recipientOrganization=[other])]
    )
    report = run(ledger, second)
    assert (report.providers.by_identifier, report.providers.created) == (1, 0)
    providers = {
        p["provider_id"]
        for f in ledger.facts()
        if f.event.type == "GrantAwarded"
        for p in f.event.data["providers"]
    }
    assert len(providers) == 1


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        (
            {"amountAwarded": "1" * 40},
            "field 'amountAwarded': is '1111111111111111111111111111111111111111'; expected an "
            "amount under 1,000,000,000,000,000",
        ),
        (
            {"plannedDates": [{"startDate": "2019-04-01", "duration": 1_000_000}]},
            "field 'plannedDates.duration': is 1000000 months; expected at most 2400",
        ),
        (
            {"plannedDates": [{"startDate": "9999-01-01", "duration": 24}]},
            "field 'plannedDates.duration': 24 months from 9999-01-01 is past the calendar",
        ),
        (
            {"grantProgramme": [{"title": {"a": "b"}}]},
            "field 'grantProgramme.title': is {'a': 'b'}; expected text",
        ),
    ],
)
def test_values_no_grant_holds_are_refused_naming_the_field(
    ledger: Ledger, tmp_path: Path, changes: dict[str, Any], fragment: str
) -> None:
    """Found by the fuzz test: each was an `unexpected` error (decimal.InvalidOperation,
    OverflowError, TypeError) naming no record."""
    path = write(tmp_path / "g.json", [grant(**changes)])
    with pytest.raises(RecordRefused) as caught:
        run(ledger, path)
    assert f"{path}: record grants[0] (360G-t-1), {fragment}; nothing was imported" == str(
        caught.value
    )
    assert stored_rows(ledger) == 0


def test_a_term_outside_the_ledgers_dates_is_skipped(ledger: Ledger, tmp_path: Path) -> None:
    """An open-ended grant published with a far-future end is skipped and reported, not a
    refusal of the whole file."""
    grants = [
        grant("360G-t-1", plannedDates=[{"startDate": "2019-04-01", "endDate": "9999-12-31"}]),
        grant("360G-t-2"),
    ]
    report = run(ledger, write(tmp_path / "g.json", grants))
    (skipped,) = report.skipped
    assert (skipped.record, skipped.field) == ("grants[0] (360G-t-1)", "plannedDates.endDate")
    assert [a["agreement_id"] for a in records(ledger, "GrantAwarded")] == ["360G-t-2"]
