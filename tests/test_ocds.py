"""OCDS import as the interop issue specifies: releases of one ocid in date order become events;
parties matched by identifier then name; whole-life values annualised; re-import adds nothing;
a bad record refuses the whole import naming file, record and field. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from domain.catalogue import NOT_STATED
from domain.ledger import Ledger
from domain.register import build_register
from infra.interop.ocds_import import import_ocds
from infra.interop.options import ImportOptions, load_categories, load_rates
from infra.interop.report import InteropReport, RecordRefused
from infra.store.frame_cache import load_event_frame
from projections.market import market
from tests.builders import commissioner, ev, provider
from tests.conftest import stored_rows
from tests.ocds_builders import (
    COUNCIL,
    HOUSING,
    MIND,
    amendment_release,
    award_release,
    package,
    termination_release,
    write_json,
    write_lines,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ocds"


def run(ledger: Ledger, *paths: Path, **options: Any) -> InteropReport:
    return import_ocds(ledger, list(paths), ImportOptions(**options))


def events(ledger: Ledger) -> dict[str, dict[str, Any]]:
    return {f.event.event_id: f.event.to_record() for f in ledger.facts()}


def of_type(ledger: Ledger, type_: str) -> list[dict[str, Any]]:
    return [r for r in events(ledger).values() if r["type"] == type_]


def register_row(ledger: Ledger, agreement_id: str, day: str) -> dict[str, Any]:
    rows = build_register(ledger.facts(), as_of=dt.date.fromisoformat(day))
    return next(
        e.row() | {"status": e.status} for e in rows if e.terms.agreement_id == agreement_id
    )


def test_a_contract_life_becomes_award_extension_variation_and_termination(
    ledger: Ledger, tmp_path: Path
) -> None:
    releases = [
        # written out of order: the importer takes them in date order
        termination_release(date="2018-09-30T12:00:00Z"),
        award_release(suppliers=[MIND, HOUSING]),
        amendment_release(amount=1168000),
    ]
    path = write_json(tmp_path / "p.json", package(releases))
    report = run(ledger, path)

    award = of_type(ledger, "ContractAwarded")[0]
    assert award["event_id"] == "ocds:ocds-b5fd17-0001:r1:award"
    assert award["agreement_id"] == "ocds-b5fd17-0001"
    assert (award["start"], award["end"]) == ("2016-04-01", "2018-03-31")
    # 730,000 over 730 days is 365,000 a year, and the source note says so
    assert award["annual_value"] == "365000.00"
    assert "730000.00 x 365 / 730 days" in award["source"]
    assert award["source"].startswith("ocds-b5fd17-0001/r1 https://example.org/ocds/p1.json")
    assert award["route"] == "competitive_tender" and award["kind"] == "contract"
    assert award["rationale"] == NOT_STATED
    assert award["service_category"] == "cpv-85312300"
    assert award["commissioners"] == [{"commissioner_id": "gb-lac-e09000008", "share": "1"}]
    assert award["providers"] == [
        {"provider_id": "gb-chc-1000001", "role": "alliance_member", "share": "0.5"},
        {"provider_id": "name-croydon-housing-support", "role": "alliance_member", "share": "0.5"},
    ]
    assert "responsible_lead" not in award and award["funding_stream"] == "unknown"

    (extended,) = of_type(ledger, "Extended")
    assert extended["new_end"] == "2019-03-31" and extended["effective_on"] == "2018-01-15"
    assert extended["rationale"] == "extended while the service is re-tendered"
    (varied,) = of_type(ledger, "Varied")
    # the 438,000 added pays for the extension year: 438,000 a year from the day after the old end
    assert (varied["annual_value"], varied["applies_from"]) == ("438000.00", "2018-04-01")
    (terminated,) = of_type(ledger, "Terminated")
    assert terminated["effective_on"] == "2018-09-30" and terminated["rationale"] == NOT_STATED

    assert report.read == 3 and report.agreements == {"ocds-b5fd17-0001"}
    assert (report.providers.created, report.commissioners.created) == (2, 1)
    assert register_row(ledger, "ocds-b5fd17-0001", "2018-06-01")["annual_value"] == "438000.00"
    assert register_row(ledger, "ocds-b5fd17-0001", "2019-01-01")["status"] == "terminated"
    charity = [r for r in of_type(ledger, "ProviderRegistered") if "charity_number" in r]
    assert charity[0]["charity_number"] == "1000001" and charity[0]["sector"] == "unknown"
    assert charity[0]["effective_on"] == "2016-03-01"


def test_reimporting_the_same_files_adds_nothing(ledger: Ledger, tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", package([award_release(), amendment_release()]))
    first = run(ledger, path)
    rows = stored_rows(ledger)
    again = run(ledger, path)
    assert first.recorded == 4 and (again.recorded, again.already_present) == (0, 2)
    assert again.providers.by_identifier == 1 and again.providers.created == 0
    assert stored_rows(ledger) == rows


def test_a_release_republished_in_another_package_adds_nothing(
    ledger: Ledger, tmp_path: Path
) -> None:
    daily = package([award_release()], uri="https://example.org/daily/2016-03-01.json")
    bulk = package([award_release()], uri="https://example.org/bulk/2016.json")
    run(ledger, write_json(tmp_path / "daily.json", daily))
    again = run(ledger, write_json(tmp_path / "bulk.json", bulk))
    assert (again.recorded, again.already_present) == (0, 1)
    changed = package([award_release(amount=1)], uri="https://example.org/bulk/2016.json")
    with pytest.raises(RecordRefused, match="already in the ledger with different content"):
        run(ledger, write_json(tmp_path / "changed.json", changed))


def test_a_later_file_continues_the_agreement_an_earlier_import_recorded(
    ledger: Ledger, tmp_path: Path
) -> None:
    run(ledger, write_json(tmp_path / "a.json", package([award_release()])))
    later = write_lines(tmp_path / "b.jsonl", [amendment_release(amount=1095000)])
    report = run(ledger, later)
    assert report.by_type == {"Extended": 1}  # 365,000 more for a year: the same rate goes on
    assert register_row(ledger, "ocds-b5fd17-0001", "2018-12-01")["end"] == "2019-03-31"


def test_value_changed_mid_term_is_spread_over_what_is_left(ledger: Ledger, tmp_path: Path) -> None:
    change = amendment_release(
        date="2017-04-01T00:00:00Z", end="2018-03-31T23:59:59Z", amount=803000
    )
    run(ledger, write_json(tmp_path / "p.json", package([award_release(), change])))
    (varied,) = of_type(ledger, "Varied")
    assert (varied["annual_value"], varied["applies_from"]) == ("438000.00", "2017-04-01")
    assert varied["rationale"] == "extended while the service is re-tendered"
    assert not of_type(ledger, "Extended")


def test_value_basis_annual_takes_amounts_as_they_are(ledger: Ledger, tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", package([award_release(amount=40000)]))
    run(ledger, path, value_basis="annual")
    award = of_type(ledger, "ContractAwarded")[0]
    assert award["annual_value"] == "40000.00" and "whole-life" not in award["source"]


@pytest.mark.parametrize(
    "method,rationale,details,route,why",
    [
        ("limited", "only provider able to start in time", "x", "direct_award", "only provider"),
        ("direct", None, "Direct award under reg 32", "direct_award", "Direct award under reg 32"),
        ("selective", None, None, "competitive_tender", NOT_STATED),
        ("limited", None, "Call-off from the NHS SBS framework", "framework", "Call-off"),
        (None, None, None, "unknown", NOT_STATED),
    ],
)
def test_procurement_method_and_rationale(
    ledger: Ledger,
    tmp_path: Path,
    method: str | None,
    rationale: str | None,
    details: str | None,
    route: str,
    why: str,
) -> None:
    release = award_release(method=method, rationale=rationale, details=details)
    run(ledger, write_json(tmp_path / "p.json", package([release])))
    award = of_type(ledger, "ContractAwarded")[0]
    assert award["route"] == route and award["rationale"].startswith(why)
    assert award["kind"] == ("framework_call_off" if route == "framework" else "contract")


def test_parties_matched_by_identifier_then_normalised_name(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record(
        [
            commissioner("croydon", kind="council"),
            provider("mind-croydon", charity_number="1000001"),
            ev(
                "ProviderRegistered",
                "2005-04-01",
                provider_id="housing",
                name="The Croydon Housing Support Limited",
                sector="private",
                size_band="small",
            ),
        ]
    )
    nameless = {"id": "s3", "name": "Croydon  housing support LTD", "roles": ["supplier"]}
    buyer = {**COUNCIL, "name": "croydon"}
    release = award_release(suppliers=[MIND, nameless], buyer=buyer)
    report = run(ledger, write_json(tmp_path / "p.json", package([release])))
    award = of_type(ledger, "ContractAwarded")[0]
    assert [p["provider_id"] for p in award["providers"]] == ["mind-croydon", "housing"]
    assert award["commissioners"][0]["commissioner_id"] == "croydon"
    assert (report.providers.by_identifier, report.providers.by_name) == (1, 1)
    assert (report.commissioners.by_name, report.commissioners.created) == (1, 0)
    assert "providers: 2 matched (1 by identifier, 1 by name), 0 created" in report.lines()


def test_three_suppliers_split_equally_with_the_remainder_to_the_first(
    ledger: Ledger, tmp_path: Path
) -> None:
    third = {"id": "s3", "name": "Peer Support Network", "roles": ["supplier"]}
    run(
        ledger,
        write_json(tmp_path / "p.json", package([award_release(suppliers=[MIND, HOUSING, third])])),
    )
    award = of_type(ledger, "ContractAwarded")[0]
    assert [p["share"] for p in award["providers"]] == ["0.333334", "0.333333", "0.333333"]


def test_ocds_1_0_is_upgraded_with_ocdskit(ledger: Ledger, tmp_path: Path) -> None:
    release = award_release()
    del release["parties"]
    release["buyer"] = {"name": COUNCIL["name"], "identifier": COUNCIL["identifier"]}
    release["awards"][0]["suppliers"] = [{"name": MIND["name"], "identifier": MIND["identifier"]}]
    old = {k: v for k, v in package([release]).items() if k != "version"}  # 1.0: no version
    report = run(ledger, write_json(tmp_path / "old.json", old))
    award = of_type(ledger, "ContractAwarded")[0]
    assert award["providers"][0]["provider_id"] == "gb-chc-1000001"
    assert award["commissioners"][0]["commissioner_id"] == "gb-lac-e09000008"
    assert report.recorded == 3


def test_record_packages_and_json_lines(ledger: Ledger, tmp_path: Path) -> None:
    records = {
        "uri": "https://example.org/records.json",
        "version": "1.1",
        "records": [
            {"ocid": "ocds-b5fd17-0001", "releases": [award_release(), amendment_release()]},
            {
                "ocid": "ocds-b5fd17-0002",
                "releases": [{"url": "https://example.org/r", "date": "2016-01-01T00:00:00Z"}],
                "compiledRelease": award_release("ocds-b5fd17-0002", "compiled", amount=100),
            },
        ],
    }
    lines = write_lines(tmp_path / "r.jsonl", [award_release("ocds-b5fd17-0003", "x")])
    report = run(ledger, write_json(tmp_path / "records.json", records), lines)
    assert report.agreements == {"ocds-b5fd17-0001", "ocds-b5fd17-0002", "ocds-b5fd17-0003"}
    assert report.by_type["ContractAwarded"] == 3 and report.by_type["Extended"] == 1


def test_cpv_categories_from_a_mapping_file(ledger: Ledger, tmp_path: Path) -> None:
    mapping = tmp_path / "categories.csv"
    mapping.write_text("cpv_prefix,category\n853,social_care\n85312300,advocacy\n")
    releases = [
        award_release("ocds-b5fd17-0001"),
        award_release("ocds-b5fd17-0002", cpv="85311000-2"),
        award_release("ocds-b5fd17-0003", cpv="79000000"),
        award_release("ocds-b5fd17-0004", cpv=None),
    ]
    run(
        ledger,
        write_json(tmp_path / "p.json", package(releases)),
        categories=load_categories(mapping),
    )
    got = {a["agreement_id"][-1]: a["service_category"] for a in of_type(ledger, "ContractAwarded")}
    assert got == {"1": "advocacy", "2": "social_care", "3": "cpv-79000000", "4": "unknown"}


def test_a_currency_other_than_gbp_is_refused_unless_rates_are_given(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "p.json", package([award_release(currency="EUR")]))
    with pytest.raises(RecordRefused) as caught:
        run(ledger, path)
    message = str(caught.value)
    assert f"{path}: record ocds-b5fd17-0001/r1, field 'awards[0].value.currency'" in message
    assert "'EUR'" in message and "--fx" in message and "nothing was imported" in message
    assert stored_rows(ledger) == 0

    rates = tmp_path / "fx.csv"
    rates.write_text("currency,rate\nEUR,0.85\n")
    run(ledger, path, rates=load_rates(rates))
    award = of_type(ledger, "ContractAwarded")[0]
    assert award["annual_value"] == "310250.00"  # 730,000 EUR x 0.85 over two years
    assert "converted from EUR at 0.85" in award["source"]


def test_duplicate_release_ids(ledger: Ledger, tmp_path: Path) -> None:
    same = write_json(tmp_path / "a.json", package([award_release()]))
    copy = write_json(tmp_path / "b.json", package([award_release()]))
    report = run(ledger, same, copy)
    assert (report.read, report.duplicates, report.by_type["ContractAwarded"]) == (2, 1, 1)

    other = write_json(tmp_path / "c.json", package([award_release(amount=1)]))
    with pytest.raises(RecordRefused) as caught:
        run(ledger, same, other)
    assert f"{other}: record releases[0] (ocds-b5fd17-0001/r1), field 'id'" in str(caught.value)
    assert "with different content" in str(caught.value)


def test_missing_dates_and_null_values_are_skipped_or_refused_naming_the_field(
    ledger: Ledger, tmp_path: Path
) -> None:
    releases = [
        award_release("ocds-b5fd17-0001", end=None),  # no end date: skipped, reported
        award_release("ocds-b5fd17-0002", amount=None, currency=None),  # no value: skipped
        award_release("ocds-b5fd17-0003", start=None),  # no start: the award date is used
        award_release("ocds-b5fd17-0004", suppliers=[], method=None),  # no award: nothing
        award_release("ocds-b5fd17-0005", amount=1000, currency=None),  # taken as GBP, noted
    ]
    report = run(ledger, write_json(tmp_path / "p.json", package(releases)))
    skipped = {(n.record, n.field) for n in report.skipped}
    assert skipped == {
        ("ocds-b5fd17-0001/r1", "awards[0].contractPeriod.endDate"),
        ("ocds-b5fd17-0002/r1", "awards[0].value.amount"),
    }
    awards = {a["agreement_id"]: a for a in of_type(ledger, "ContractAwarded")}
    assert set(awards) == {"ocds-b5fd17-0003", "ocds-b5fd17-0005"}
    assert awards["ocds-b5fd17-0003"]["start"] == "2016-03-01"
    assert "currency not stated, taken as GBP" in awards["ocds-b5fd17-0005"]["source"]

    undated = award_release("ocds-b5fd17-0009")
    undated["date"] = None
    bad = write_json(tmp_path / "bad.json", package([undated]))
    with pytest.raises(RecordRefused, match=r"releases\[0\] \(ocds-b5fd17-0009/r1\), field 'date'"):
        run(ledger, bad)
    garbled = award_release("ocds-b5fd17-0010", end="31/03/2018")
    with pytest.raises(RecordRefused, match=r"field 'awards\[0\].contractPeriod.endDate'"):
        run(ledger, write_json(tmp_path / "garbled.json", package([garbled])))


def test_suppliers_with_no_identifier_are_created_once_by_name(
    ledger: Ledger, tmp_path: Path
) -> None:
    anonymous = {"id": "x", "name": "Talking Therapies CIC", "roles": ["supplier"]}
    releases = [
        award_release("ocds-b5fd17-0001", suppliers=[anonymous]),
        award_release("ocds-b5fd17-0002", suppliers=[{**anonymous, "name": "talking therapies"}]),
    ]
    report = run(ledger, write_json(tmp_path / "p.json", package(releases)))
    assert report.providers.created_ids == ["name-talking-therapies"]
    (registered,) = of_type(ledger, "ProviderRegistered")
    assert "org_identifiers" not in registered and registered["name"] == "Talking Therapies CIC"


def test_latin_1_input(ledger: Ledger, tmp_path: Path) -> None:
    supplier = {"id": "s", "name": "Café Bébé Counselling", "roles": ["supplier"]}
    text = orjson.dumps(package([award_release(suppliers=[supplier])])).decode()
    path = tmp_path / "latin1.json"
    path.write_bytes(text.encode("latin-1"))
    report = run(ledger, path)
    assert report.encodings[str(path)] in ("cp1252", "latin-1")
    assert of_type(ledger, "ProviderRegistered")[0]["name"] == "Café Bébé Counselling"


def test_a_cancellation_rescinds_the_award(ledger: Ledger, tmp_path: Path) -> None:
    cancelled = {
        "ocid": "ocds-b5fd17-0001",
        "id": "r2",
        "date": "2016-03-02T09:00:00Z",
        "tag": ["awardCancellation"],
        "awards": [{"id": "1", "status": "cancelled"}],
    }
    run(ledger, write_json(tmp_path / "p.json", package([award_release(), cancelled])))
    (rescinded,) = of_type(ledger, "Rescinded")
    assert rescinded["rescinds"] == "ocds:ocds-b5fd17-0001:r1:award"
    assert register_row(ledger, "ocds-b5fd17-0001", "2017-01-01")["status"] == "rescinded"


def test_a_bad_record_in_a_later_file_leaves_the_store_unchanged(
    ledger: Ledger, tmp_path: Path
) -> None:
    good = write_json(tmp_path / "good.json", package([award_release()]))
    bad = write_lines(
        tmp_path / "bad.jsonl",
        [award_release("ocds-b5fd17-0002"), award_release("ocds-b5fd17-0003", amount="lots")],
    )
    with pytest.raises(RecordRefused) as caught:
        run(ledger, good, bad)
    assert f"{bad}: record ocds-b5fd17-0003/r1, field 'awards[0].value.amount'" in str(caught.value)
    assert stored_rows(ledger) == 0


def test_a_broken_rule_names_the_record(ledger: Ledger, tmp_path: Path) -> None:
    release = award_release()
    del release["buyer"]
    release["parties"] = release["parties"][1:]
    path = write_json(tmp_path / "p.json", package([release]))
    with pytest.raises(RecordRefused) as caught:
        run(ledger, path, commissioner="nobody")
    message = str(caught.value)
    assert "record ocds-b5fd17-0001/r1" in message and "commissioner 'nobody'" in message
    assert stored_rows(ledger) == 0


def test_real_published_file_from_ocdskit_fixtures(ledger: Ledger) -> None:
    """Mexico City's published releases (ocdskit's test fixtures): MXN and USD values, so they
    are refused without rates and imported with them."""
    path = FIXTURES / "cdmx-release-package-1-2.json"
    with pytest.raises(RecordRefused, match="'MXN'"):
        run(ledger, path)
    rates = {"MXN": Decimal("0.04"), "USD": Decimal("0.79")}
    report = run(ledger, path, FIXTURES / "cdmx-encoding-iso-8859-1.json", rates=rates)
    assert (report.read, len(report.agreements)) == (7, 3)
    assert (report.providers.created, report.commissioners.created) == (3, 1)
    assert report.encodings[str(FIXTURES / "cdmx-encoding-iso-8859-1.json")] == "cp1252"
    # its first two releases have no contract end date; the third completes the award
    assert not report.skipped


@pytest.mark.slow
def test_a_large_file_is_streamed(ledger: Ledger, tmp_path: Path) -> None:
    """About 20 MB of releases in one package: read as a stream and merged per process."""
    path = tmp_path / "big.json"
    n = 6_000
    with path.open("wb") as out:
        out.write(b'{"uri": "https://example.org/big.json", "version": "1.1", "releases": [\n')
        for i in range(n):
            ocid = f"ocds-b5fd17-{i:06d}"
            supplier = {**MIND, "id": f"s{i % 300}", "name": f"Provider {i % 300}"}
            supplier["identifier"] = {"scheme": "GB-COH", "id": str(10_000 + i % 300)}
            release = award_release(ocid, "r1", suppliers=[supplier])
            release["tender"]["description"] = "x" * 2500
            out.write(orjson.dumps(release) + b",\n")
            out.write(
                orjson.dumps(amendment_release(ocid, "r2")) + (b",\n" if i < n - 1 else b"\n")
            )
        out.write(b"]}")
    assert path.stat().st_size > 15_000_000
    report = run(ledger, path)
    assert report.read == 2 * n and len(report.agreements) == n
    assert report.providers.created == 300 and report.by_type["Extended"] == n


@pytest.mark.slow
def test_cli_imports_the_example_and_refuses_in_one_plain_line(
    store_url: str, tmp_path: Path
) -> None:
    from infra.interop.ocds_schema import package_errors
    from tests.test_cli import ROOT, assert_plain_error, cledger

    example = ROOT / "examples" / "ocds" / "croydon-release-package.json"
    assert package_errors(orjson.loads(example.read_bytes())) == []
    categories = ROOT / "examples" / "ocds" / "categories.csv"
    args = ["import", "--format", "ocds", str(example), "--categories", str(categories)]
    out = cledger(*args, "--report", str(tmp_path / "r.json"), store=store_url).stdout
    assert "imported 10 events" in out and "2 agreements" in out
    assert orjson.loads((tmp_path / "r.json").read_bytes())["providers"]["created"] == 3
    again = cledger(*args, store=store_url).stdout
    assert "imported 0 events" in again

    euros = write_json(tmp_path / "eur.json", package([award_release(currency="EUR")]))
    done = cledger("import", "--format", "ocds", str(euros), store=store_url, ok=False)
    assert_plain_error(done, str(euros), "ocds-b5fd17-0001/r1", "awards[0].value.currency", "EUR")


# -- multi-lot processes -----------------------------------------------------------------------

LOTS = FIXTURES / "multi-lot.json"
LOT_OCID = "ocds-b5fd17-lots-0001"
LOT_2 = f"{LOT_OCID}/{LOT_OCID}-lot-2"  # the further award's agreement: <ocid>/<award id>


def test_each_award_of_a_multi_lot_process_is_an_agreement_with_its_own_changes(
    ledger: Ledger,
) -> None:
    """Two lots awarded in one release, to two suppliers; a later release extends lot 2's
    contract only, another terminates lot 1's only (contracts[].awardID says which)."""
    report = run(ledger, LOTS)

    awards = {a["agreement_id"]: a for a in of_type(ledger, "ContractAwarded")}
    assert set(awards) == {LOT_OCID, LOT_2}
    first, second = awards[LOT_OCID], awards[LOT_2]
    # the first award keeps the ocid and the event ids a single-award process always had
    assert first["event_id"] == f"ocds:{LOT_OCID}:award-2021-02-01:award"
    assert second["event_id"] == f"ocds:{LOT_OCID}:award-2021-02-01:award:{LOT_OCID}-lot-2"
    assert first["providers"] == [{"provider_id": "gb-chc-1000001", "role": "sole", "share": "1"}]
    assert second["providers"] == [{"provider_id": "gb-coh-01234567", "role": "sole", "share": "1"}]
    # 500,000 over 730 days and 120,000 over 365 days
    assert (first["annual_value"], first["start"], first["end"]) == (
        "250000.00",
        "2021-04-01",
        "2023-03-31",
    )
    assert (second["annual_value"], second["start"], second["end"]) == (
        "120000.00",
        "2021-04-01",
        "2022-03-31",
    )
    assert (first["effective_on"], second["effective_on"]) == ("2021-02-01", "2021-02-03")
    assert first["commissioners"] == second["commissioners"]

    (extended,) = of_type(ledger, "Extended")
    assert extended["agreement_id"] == LOT_2
    assert (extended["new_end"], extended["effective_on"]) == ("2023-03-31", "2022-02-15")
    assert extended["rationale"] == "extended for a year to align with lot 1 for re-tender"
    assert extended["event_id"] == f"ocds:{LOT_OCID}:amendment-2022-02-15:extended:{LOT_OCID}-lot-2"
    assert not of_type(ledger, "Varied")  # 120,000 more pays for the added year at the same rate
    (terminated,) = of_type(ledger, "Terminated")
    assert terminated["agreement_id"] == LOT_OCID and terminated["effective_on"] == "2022-06-30"
    assert terminated["rationale"] == "provider handed back lot 1"

    assert register_row(ledger, LOT_OCID, "2022-12-01")["status"] == "terminated"
    lot_2 = register_row(ledger, LOT_2, "2022-12-01")
    assert (lot_2["status"], lot_2["end"], lot_2["annual_value"]) == (
        "active",
        "2023-03-31",
        "120000.00",
    )
    assert report.agreements == report.multi_award == {LOT_OCID, LOT_2}
    assert "read 3 releases; 2 agreements (2 from multi-award processes)" in report.lines()
    assert report.as_dict()["multi_award_agreements"] == sorted([LOT_OCID, LOT_2])
    assert (report.providers.created, report.commissioners.created) == (2, 1)
    assert not report.noticed and not report.skipped


def test_reimporting_a_multi_lot_process_adds_nothing(ledger: Ledger) -> None:
    first = run(ledger, LOTS)
    rows = stored_rows(ledger)
    again = run(ledger, LOTS)
    assert first.recorded == 7  # a commissioner, two providers, two awards, Extended, Terminated
    assert (again.recorded, again.already_present) == (0, 4)
    assert stored_rows(ledger) == rows


def test_a_later_file_continues_each_lot_by_its_award_id(ledger: Ledger, tmp_path: Path) -> None:
    """The award release imported first; the amendment and termination later, in a file of
    their own with no awards: each contract continues the agreement of its awardID."""
    published = orjson.loads(LOTS.read_bytes())
    award, *later = published["releases"]
    run(ledger, write_json(tmp_path / "awards.json", {**published, "releases": [award]}))
    report = run(ledger, write_json(tmp_path / "later.json", {**published, "releases": later}))
    assert report.by_type == {"Extended": 1, "Terminated": 1}
    (extended,) = of_type(ledger, "Extended")
    (terminated,) = of_type(ledger, "Terminated")
    assert (extended["agreement_id"], terminated["agreement_id"]) == (LOT_2, LOT_OCID)


def test_data_imported_when_only_the_first_award_was_mapped_stays_as_it_was(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A ledger that imported this process before further awards were mapped holds the first
    award only, under the ocid: importing it again keeps that agreement and adds the lot."""
    published = orjson.loads(LOTS.read_bytes())
    award = published["releases"][0]
    only_first = {**award, "awards": award["awards"][:1], "contracts": award["contracts"][:1]}
    only_first["parties"] = award["parties"][:2]
    run(ledger, write_json(tmp_path / "before.json", {**published, "releases": [only_first]}))
    before = events(ledger)
    report = run(ledger, LOTS)
    assert all(events(ledger)[event_id] == record for event_id, record in before.items())
    assert report.by_type == {
        "ContractAwarded": 1,
        "Extended": 1,
        "ProviderRegistered": 1,
        "Terminated": 1,
    }
    assert {a["agreement_id"] for a in of_type(ledger, "ContractAwarded")} == {LOT_OCID, LOT_2}


def test_one_award_with_contracts_lacking_award_ids_keeps_its_single_contract(
    ledger: Ledger, tmp_path: Path
) -> None:
    """With one award, a contract that names no award is that award's contract (as before)."""
    amended = amendment_release()
    del amended["contracts"][0]["awardID"]
    ended = termination_release()
    del ended["contracts"][0]["awardID"]
    report = run(
        ledger, write_json(tmp_path / "p.json", package([award_release(), amended, ended]))
    )
    assert report.by_type["Extended"] == 1 and report.by_type["Terminated"] == 1
    assert not report.multi_award


def test_a_cancellation_rescinds_only_the_award_it_names(ledger: Ledger, tmp_path: Path) -> None:
    published = orjson.loads(LOTS.read_bytes())
    cancelled = {
        "ocid": LOT_OCID,
        "id": "cancel-lot-2",
        "date": "2021-02-10T09:00:00Z",
        "tag": ["awardCancellation"],
        "awards": [{"id": f"{LOT_OCID}-lot-2", "status": "cancelled"}],
    }
    releases = [published["releases"][0], cancelled]
    run(ledger, write_json(tmp_path / "p.json", {**published, "releases": releases}))
    (rescinded,) = of_type(ledger, "Rescinded")
    assert rescinded["agreement_id"] == LOT_2
    assert rescinded["rescinds"] == f"ocds:{LOT_OCID}:award-2021-02-01:award:{LOT_OCID}-lot-2"
    assert register_row(ledger, LOT_OCID, "2021-06-01")["status"] == "active"


def test_a_further_award_missing_its_end_is_skipped_and_the_rest_imported(
    ledger: Ledger, tmp_path: Path
) -> None:
    published = orjson.loads(LOTS.read_bytes())
    award = published["releases"][0]
    del award["awards"][1]["contractPeriod"]["endDate"]
    del award["contracts"][1]["period"]["endDate"]
    report = run(ledger, write_json(tmp_path / "p.json", {**published, "releases": [award]}))
    assert {a["agreement_id"] for a in of_type(ledger, "ContractAwarded")} == {LOT_OCID}
    (skipped,) = report.skipped
    assert (skipped.record, skipped.field) == (
        f"{LOT_OCID}/award-2021-02-01",
        "contracts[1].period.endDate",
    )


def test_a_further_award_with_no_id_is_reported_not_imported(
    ledger: Ledger, tmp_path: Path
) -> None:
    published = orjson.loads(LOTS.read_bytes())
    award = published["releases"][0]
    del award["awards"][1]["id"]
    report = run(ledger, write_json(tmp_path / "p.json", {**published, "releases": [award]}))
    assert {a["agreement_id"] for a in of_type(ledger, "ContractAwarded")} == {LOT_OCID}
    (noticed,) = report.noticed
    assert noticed.field == "awards[1].id" and "no id: not imported" in noticed.why


# -- export ----------------------------------------------------------------------------------


def export_example(ledger: Ledger) -> dict[str, Any]:
    from infra.interop.native import import_events, read_events
    from infra.interop.ocds_export import packages

    example = Path(__file__).parent.parent / "examples" / "advocacy.jsonl"
    import_events(ledger, example, read_events(example))
    (only,) = list(packages(ledger))
    return only


def test_export_writes_a_valid_release_package_per_agreement(ledger: Ledger) -> None:
    from infra.interop.ocds_schema import package_errors

    package = export_example(ledger)
    assert package_errors(package) == []
    tags = [(r["id"], r["tag"]) for r in package["releases"]]
    assert tags == [
        ("e3", ["award", "contract"]),
        ("e4", ["contractAmendment"]),
        ("e5", ["contractAmendment"]),
        ("e6", ["contractAmendment"]),
        ("e8", ["contractUpdate"]),
        ("e9", ["contractTermination"]),
    ]
    award, *_, handover, expired = package["releases"]
    assert award["ocid"] == "ocds-cledger-g-001" and award["date"] == "2006-04-01T00:00:00Z"
    assert award["tender"]["procurementMethod"] == "open"
    assert award["tender"]["classification"] == {"scheme": "CLEDGER-CATEGORY", "id": "advocacy"}
    supplier = next(p for p in award["parties"] if "supplier" in p["roles"])
    assert supplier["identifier"] == {"scheme": "GB-CHC", "id": "1000001"}
    # our extension carries the native event, corrections applied, and the handover
    assert package["releases"][3]["cledger"]["event"]["annual_value"] == "42500.00"
    assert handover["cledger"]["event"]["type"] == "HandedOver"
    assert handover["cledger"]["handover"] == {"moved": ["g-001"]}
    assert expired["contracts"][0]["status"] == "terminated"


def test_compiling_the_export_with_ocdsmerge_gives_the_current_term_value_and_suppliers(
    ledger: Ledger,
) -> None:
    from infra.interop.amounts import annualise, whole_life_of
    from infra.interop.ocds_schema import merger

    package = export_example(ledger)
    compiled = merger().create_compiled_release(package["releases"])
    contract = compiled["contracts"][0]
    assert contract["period"] == {
        "startDate": "2006-04-01T00:00:00Z",
        "endDate": "2008-09-30T00:00:00Z",
    }
    terms = ledger.agreement("g-001").terms()  # type: ignore[union-attr]
    whole = whole_life_of(terms.values, terms.start, terms.end)
    assert Decimal(repr(contract["value"]["amount"])) == whole.quantize(Decimal("0.000001"))
    # 40,000 a year for 792 days, then 42,500 a year from 2008-06-01 for 122 days
    assert whole.quantize(Decimal("0.01")) == Decimal("101000.00")
    assert annualise(whole, terms.start, terms.end) > Decimal("40000")
    assert [s["name"] for s in compiled["awards"][0]["suppliers"]] == ["Mind A"]
    assert compiled["tag"] == ["compiled"]


@pytest.mark.slow
def test_cli_exports_ocds_to_a_folder_and_to_json_lines(store_url: str, tmp_path: Path) -> None:
    from tests.test_cli import EXAMPLE, cledger

    cledger("import", str(EXAMPLE), store=store_url)
    cledger("export", "--format", "ocds", str(tmp_path / "packages"), store=store_url)
    assert [p.name for p in (tmp_path / "packages").iterdir()] == ["g-001.json"]
    lines = cledger("export", "--format", "ocds", store=store_url).stdout.splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0])["releases"][0]["ocid"] == "ocds-cledger-g-001"


@pytest.mark.slow
def test_round_trip_of_a_generated_ledger_through_ocds(tmp_path: Path) -> None:
    """The generated conurbation, exported to OCDS and imported into an empty store, gives the
    same agreements, terms, annual values in time, statuses and awarded suppliers. What OCDS
    cannot carry is listed in the README ("What OCDS cannot carry")."""
    from infra.bootstrap import open_ledger
    from infra.clocks import SimulatedClock
    from infra.generator import build, generate
    from infra.interop.ocds_export import write_ocds

    generated = generate(seed=2013, today=dt.date(2024, 6, 1))
    clock = SimulatedClock(generated[0].recorded_at)
    source = open_ledger(f"sqlite:///{tmp_path}/source.db", clock=clock)
    build(source, clock, generated)
    exported = tmp_path / "ledger-ocds.jsonl"
    agreements = write_ocds(source, exported)
    target = open_ledger(f"sqlite:///{tmp_path}/target.db")
    report = import_ocds(target, [exported], ImportOptions())
    assert len(report.agreements) == agreements and not report.skipped

    endings = {"terminated", "decommissioned", "expired"}
    for day in ("2008-06-01", "2013-04-01", "2016-06-30", "2020-01-01", "2024-05-31"):
        when = dt.date.fromisoformat(day)
        before = {e.terms.agreement_id: e for e in build_register(source.facts(), as_of=when)}
        after = {e.terms.agreement_id: e for e in build_register(target.facts(), as_of=when)}
        assert before.keys() == after.keys()
        for agreement_id, was in before.items():
            now = after[agreement_id]
            got, want = now.row(), was.row()
            assert (got["start"], got["end"], got["annual_value"]) == (
                want["start"],
                want["end"],
                want["annual_value"],
            ), agreement_id
            if want["status"] in endings:  # decommissioned comes back as terminated or expired
                assert got["status"] in endings
            else:
                assert got["status"] == want["status"], agreement_id
            if was.terms.award is not None:
                awarded = {
                    p["provider_id"]
                    for p in was.terms.award.data["providers"]
                    if p["role"] != "subcontractor"
                }
                assert {p["provider_id"] for p in now.terms.award.data["providers"]} == awarded  # type: ignore[union-attr]


@pytest.mark.parametrize("layout", ["array", "concatenated", "single", "package-lines"])
def test_file_layouts(ledger: Ledger, tmp_path: Path, layout: str) -> None:
    first, second = award_release(), award_release("ocds-b5fd17-0002")
    path = tmp_path / "f.json"
    pretty = orjson.OPT_INDENT_2
    if layout == "array":
        path.write_bytes(orjson.dumps([first, second], option=pretty))
    elif layout == "concatenated":
        path.write_bytes(
            orjson.dumps(package([first]), option=pretty)
            + b"\n"
            + orjson.dumps(package([second]), option=pretty)
        )
    elif layout == "single":
        path.write_bytes(orjson.dumps(first, option=pretty))
    else:
        write_lines(path, [package([first]), package([second])])
    report = run(ledger, path)
    assert len(report.agreements) == (1 if layout == "single" else 2)


@pytest.mark.parametrize(
    ("content", "record", "fragments"),
    [
        (b"[" * 100_000, "(the document)", ["field '[][][]", "nested deeper than 64 levels"]),
        (
            b'{"releases": ' + b"[" * 100_000,
            "document 1",
            ["field 'releases[][]", "nested deeper than 64 levels"],
        ),
        (
            b'{"releases": [{"ocid": "o", "id": "1", "date": "2020-01-01", "awards": [{"value": '
            b'{"amount": 123456789012345678901234567890}}]}]}',
            "document 1, after 0 releases or records",
            ["malformed JSON (parse error: integer overflow"],
        ),
    ],
)
def test_a_hostile_document_is_refused_at_once_naming_where(
    ledger: Ledger, tmp_path: Path, content: bytes, record: str, fragments: list[str]
) -> None:
    """`[` x 100,000 made the streaming parser build ever longer paths for minutes: now it
    stops at 64 levels, well under a second, in one line naming file, record and field."""
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    started = time.process_time()
    with pytest.raises(RecordRefused) as caught:
        run(ledger, path)
    assert time.process_time() - started < 0.5
    message = str(caught.value)
    assert message.startswith(f"{path}: record {record}") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert stored_rows(ledger) == 0


def test_a_release_too_deep_or_too_long_is_refused_naming_the_field(
    ledger: Ledger, tmp_path: Path
) -> None:
    deep: Any = "x"
    for _ in range(300):  # orjson reads 1,024 levels, writes 255
        deep = [deep]
    lines = tmp_path / "deep.jsonl"  # json: orjson writes 255 levels at most
    lines.write_text(
        json.dumps(award_release())
        + "\n"
        + json.dumps(award_release(ocid="ocds-b5fd17-0002", rid="r9", planning=deep))
        + "\n"
    )
    with pytest.raises(RecordRefused) as caught:
        run(ledger, lines)
    assert "record line 2, field 'planning[0][0][0]" in str(caught.value)
    assert "nested deeper than 64 levels" in str(caught.value)
    long = write_json(tmp_path / "long.json", package([award_release(description="d" * 100_001)]))
    with pytest.raises(RecordRefused) as caught:
        run(ledger, long)
    assert "record releases[0], field 'description': is 100,001 characters long" in str(
        caught.value
    )
    assert stored_rows(ledger) == 0


def test_an_award_restated_before_any_contract_change_is_corrected_not_varied(
    ledger: Ledger,
) -> None:
    """Contracts Finder, as published: an award at 10,932,000, restated six minutes later at
    109,320 (and a fuller title). The first figure was a typo: the award is corrected from the
    start (the market no longer shows millions of spend), and the contract's later amendment is
    the one variation."""
    report = run(ledger, FIXTURES / "restated-award.json")
    assert report.by_type == {
        "CommissionerEstablished": 1,
        "ContractAwarded": 1,
        "Corrected": 1,
        "ProviderRegistered": 1,
        "Varied": 1,
    }
    ocid = "ocds-b5fd17-7c1e9d2a-0001"
    (award,) = of_type(ledger, "ContractAwarded")
    (corrected,) = of_type(ledger, "Corrected")
    assert corrected["corrects"] == award["event_id"]
    assert corrected["fields"] == {
        "annual_value": "36406.75",  # 109,320 x 365 / 1,096 days
        "title": "NHS Talking Therapies step 2 services (Merton)",
    }
    assert (
        "restated the award in release " + ocid + "-awardUpdate-2 (awardUpdate)"
        in (corrected["rationale"])
    )
    assert "value 10932000.00 -> 109320.00" in corrected["rationale"]
    row = register_row(ledger, ocid, "2025-06-01")
    assert (row["annual_value"], row["title"]) == (
        "36406.75",
        "NHS Talking Therapies step 2 services (Merton)",
    )
    frame = load_event_frame(ledger, cache=False)
    spend = market(frame, dt.date(2026, 3, 31)).collect()
    year = spend.filter(
        (pl.col("financial_year") == "2025/26")
        & pl.col("provider_id").is_not_null()
        & pl.col("service_category").is_not_null()
        & pl.col("commissioner_id").is_not_null()
    )
    assert year["spend"].to_list() == [pytest.approx(36406.75, abs=0.01)]  # not millions
    (varied,) = of_type(ledger, "Varied")
    assert varied["rationale"] == "Additional sessions for the Wimbledon hub from October 2026"
    assert Decimal(varied["annual_value"]) > Decimal("36406.75")


def test_a_release_that_moves_the_end_and_closes_the_contract_records_both(
    ledger: Ledger,
) -> None:
    """Two closing releases, as published: one moves the end earlier and terminates (the
    contract ended on the new end), the other extends the end, raises the value and closes it
    after the new end (completed)."""
    run(ledger, FIXTURES / "end-moved-and-terminated.json")
    early, extended = "ocds-b5fd17-3f0a6b4c-0002", "ocds-b5fd17-3f0a6b4c-0003"
    (terminated,) = of_type(ledger, "Terminated")
    assert (terminated["agreement_id"], terminated["effective_on"]) == (early, "2024-06-30")
    assert "end moved from 2025-03-31 to 2024-06-30 as it closed" in terminated["rationale"]
    assert register_row(ledger, early, "2024-07-01")["status"] == "terminated"
    (extension,) = of_type(ledger, "Extended")
    assert (extension["agreement_id"], extension["new_end"]) == (extended, "2024-03-31")
    assert extension["effective_on"] == "2023-02-01"  # the amendment's date
    assert extension["rationale"] == "Extended a year while the carers strategy was refreshed"
    (expired,) = of_type(ledger, "Expired")
    assert (expired["agreement_id"], expired["effective_on"]) == (extended, "2024-05-20")
    assert register_row(ledger, extended, "2024-01-01")["end"] == "2024-03-31"


def test_a_title_restated_after_a_contract_change_corrects_the_award_title(
    ledger: Ledger, tmp_path: Path
) -> None:
    retitled = {
        "ocid": "ocds-b5fd17-0001",
        "id": "r3",
        "date": "2018-02-01T10:00:00Z",
        "tag": ["tenderUpdate"],
        "tender": {"id": "ocds-b5fd17-0001-tender", "title": "Mental health advocacy (adults)"},
    }
    path = write_json(
        tmp_path / "p.json", package([award_release(), amendment_release(), retitled])
    )
    run(ledger, path)
    assert {r["type"] for r in events(ledger).values()} >= {"Extended", "Corrected"}
    (corrected,) = of_type(ledger, "Corrected")
    assert corrected["fields"] == {"title": "Mental health advocacy (adults)"}
    assert corrected["effective_on"] == "2018-02-01"
    assert "restated the title in release r3" in corrected["rationale"]
    row = register_row(ledger, "ocds-b5fd17-0001", "2018-06-01")
    assert row["title"] == "Mental health advocacy (adults)"
    assert run(ledger, path).recorded == 0  # re-import adds nothing


def test_a_library_warning_is_counted_in_the_report_not_printed(
    store_url: str, tmp_path: Path
) -> None:
    """An OCDS 1.0 release naming one organisation twice with different details: ocdskit's
    upgrade logged both whole records as raw JSON on stderr, after an import that succeeded.
    Run as users run it (a real process: under pytest the logging plugin would hide it)."""
    from tests.test_cli import cledger

    release = award_release()
    for key in ("parties", "buyer"):
        del release[key]
    supplier = {"identifier": {"scheme": "GB-CHC", "id": "1000001"}, "name": "Mind in Croydon"}
    release["buyer"] = {"id": "GB-LAC-E09000008", "name": "Croydon"}
    release["tender"]["procuringEntity"] = {
        "id": "GB-LAC-E09000008",
        "identifier": {"scheme": "GB-LAC", "id": "E09000008"},
        "name": "London Borough of Croydon",
        "address": {"streetAddress": "Bernard Weatherill House, 8 Mint Walk"},
    }
    release["awards"][0]["suppliers"] = [supplier]
    path = write_json(
        tmp_path / "v10.json", {"uri": "https://example.org/v10", "releases": [release]}
    )
    report = tmp_path / "report.json"
    done = cledger(
        "import", "--format", "ocds", str(path), "--report", str(report), store=store_url
    )
    assert "Bernard Weatherill" not in done.stdout + done.stderr, done.stderr
    assert done.stderr == ""
    assert "library warnings 1:" in done.stdout
    assert "1 x ocdskit: party in … role differs from party in … roles:" in done.stdout
    assert orjson.loads(report.read_bytes())["library_warnings"] == {
        "ocdskit: party in … role differs from party in … roles:": 1
    }


def test_a_tag_that_is_not_a_list_is_read_not_crashed_on(ledger: Ledger, tmp_path: Path) -> None:
    """Found by the fuzz test: `"tag": 5.0` was `unexpected TypeError`."""
    first = {**award_release(), "tag": "award"}
    later = {**amendment_release(), "tag": 5.0}
    run(ledger, write_json(tmp_path / "p.json", package([first, later])))
    assert of_type(ledger, "Extended")[0]["new_end"] == "2019-03-31"


def test_a_party_the_format_refuses_is_named_with_its_file_and_record(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Found by the fuzz test: a created party's registration refused by the native format
    (here our extension's `sector`) gave a message naming no file nor record."""
    release = award_release()
    release["parties"][1]["cledger"] = {"sector": "bogus"}
    path = write_json(tmp_path / "p.json", package([release]))
    with pytest.raises(RecordRefused) as caught:
        run(ledger, path)
    message = str(caught.value)
    assert message.startswith(f"{path}: record ocds-b5fd17-0001/r1"), message
    assert "its provider 'Mind in Croydon' maps to a ProviderRegistered event that is invalid" in (
        message
    )
    assert "field 'sector' is 'bogus'" in message
    assert stored_rows(ledger) == 0


def test_a_term_outside_the_ledgers_dates_is_skipped_not_refusing_the_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    """`endDate: 9999-12-31T00:00:00Z` ("no fixed end") is past the ledger's dates: that award
    is skipped and reported naming the field, the rest of the file imported."""
    releases = [
        award_release("ocds-b5fd17-0001", end="9999-12-31T00:00:00Z"),
        award_release("ocds-b5fd17-0002"),
    ]
    report = run(ledger, write_json(tmp_path / "p.json", package(releases)))
    (skipped,) = report.skipped
    assert (skipped.record, skipped.field) == (
        "ocds-b5fd17-0001/r1",
        "awards[0].contractPeriod.endDate",
    )
    assert "outside the dates the ledger records" in skipped.why
    assert {a["agreement_id"] for a in of_type(ledger, "ContractAwarded")} == {"ocds-b5fd17-0002"}


def test_a_later_end_outside_the_ledgers_dates_is_noticed_not_dropped_silently(
    ledger: Ledger, tmp_path: Path
) -> None:
    """An amendment moving the end to 9999-12-31 ("no fixed end") cannot be recorded: the
    report says so, naming the release and the field; the award stands."""
    releases = [award_release(), amendment_release(end="9999-12-31T00:00:00Z")]
    report = run(ledger, write_json(tmp_path / "p.json", package(releases)))
    assert not of_type(ledger, "Extended")
    (noticed,) = [n for n in report.noticed if "outside the dates" in n.why]
    assert (noticed.record, noticed.field) == ("ocds-b5fd17-0001/r2", "contracts[0].period.endDate")
    assert noticed.why.endswith(": not recorded")
