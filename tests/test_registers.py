"""Council contract register snapshots: each new row an award, differences between successive
snapshots extensions and variations, a vanished row reported and never invented as an ending.
SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from domain.catalogue import NOT_STATED
from domain.errors import LedgerError
from domain.ledger import Ledger
from infra.interop.options import ImportOptions, load_mapping
from infra.interop.register_history import import_registers
from infra.interop.report import InteropReport, RecordRefused
from tests.builders import commissioner
from tests.conftest import stored_rows

EXAMPLES = Path(__file__).parent.parent / "examples" / "registers"
FIRST = EXAMPLES / "croydon-register-2019-03-31.csv"
SECOND = EXAMPLES / "croydon-register-2019-06-30.csv"
HEADER = (
    "Reference Number,Title of Agreement,Department,Supplier Name,"
    "Supplier Company Registration Number,Supplier Charity Registration Number,"
    "Value of Agreement,Start Date,End Date,Procurement Process,SME,VCSE\n"
)


def run(ledger: Ledger, *paths: Path, **options: Any) -> InteropReport:
    options.setdefault("commissioner", "croydon")
    return import_registers(ledger, list(paths), ImportOptions(**options))


def by_id(ledger: Ledger) -> dict[str, dict[str, Any]]:
    return {f.event.event_id: f.event.to_record() for f in ledger.facts()}


@pytest.fixture
def croydon(ledger: Ledger) -> Ledger:
    ledger.record([commissioner("croydon")])
    return ledger


def test_successive_snapshots_become_history(croydon: Ledger) -> None:
    mapping = load_mapping(EXAMPLES / "croydon-mapping.toml")
    report = run(croydon, SECOND, FIRST, mapping=mapping)  # taken in date order whatever given
    events = by_id(croydon)
    award = events["register:croydon:MH-001:2019-03-31:award"]
    assert award["agreement_id"] == "croydon:MH-001" and award["effective_on"] == "2016-04-01"
    assert (award["start"], award["end"]) == ("2016-04-01", "2019-03-31")
    assert award["annual_value"] == "73000.00"  # 219,000 x 365 / 1,095 days
    assert award["route"] == "competitive_tender" and award["rationale"] == NOT_STATED
    assert award["service_category"] == "social_care" and award["source_amount"] == "219000.00"
    assert award["responsible_lead"] == "commissioning.mh@croydon.example"
    extended = events["register:croydon:MH-001:2019-06-30:extended"]
    assert extended["new_end"] == "2020-03-31" and extended["effective_on"] == "2019-06-30"
    assert extended["rationale"].startswith("inferred from the contract register of 2019-06-30")
    varied = events["register:croydon:MH-002:2019-06-30:varied"]
    # 73,000 more with no extension: spread over the 276 days left from 2019-06-30
    assert (varied["annual_value"], varied["applies_from"]) == ("461206.83", "2019-06-30")
    assert events["register:croydon:MH-004:2019-03-31:award"]["route"] == "spot"
    direct = events["register:croydon:MH-003:2019-03-31:award"]
    assert direct["route"] == "direct_award" and direct["service_category"] == "peer_support"
    new = events["register:croydon:MH-005:2019-06-30:award"]
    assert new["providers"] == [{"provider_id": "gb-chc-1000001", "role": "sole", "share": "1"}]
    assert not [e for e in events.values() if e["type"] in ("Terminated", "Expired")]
    (vanished,) = report.noticed
    assert vanished.record == "MH-004" and "no longer in the register of 2019-06-30" in vanished.why
    assert (report.read, len(report.agreements), report.providers.created) == (8, 5, 4)
    charity = events["register:provider:gb-chc-1000001"]
    assert charity["sector"] == "third_sector" and charity["charity_number"] == "1000001"


def test_snapshots_imported_one_at_a_time_give_the_same_history(
    croydon: Ledger, tmp_path: Path
) -> None:
    run(croydon, FIRST)
    report = run(croydon, SECOND)
    assert report.by_type == {"ContractAwarded": 1, "Extended": 1, "Varied": 2}
    assert [n.record for n in report.noticed] == ["MH-004"]
    rows = stored_rows(croydon)
    again = run(croydon, FIRST, SECOND)
    assert again.recorded == 0 and stored_rows(croydon) == rows


def test_shipped_mappings_are_found_from_the_header(croydon: Ledger) -> None:
    report = run(croydon, EXAMPLES / "northtown-register-2020-Q1.csv")
    events = by_id(croydon)
    employment = events["register:croydon:NT/2019/014:2020-03-31:award"]
    assert employment["route"] == "framework" and employment["kind"] == "framework_call_off"
    carers = events["register:croydon:NT/2019/022:2020-03-31:award"]
    assert carers["route"] == "grant_round" and carers["annual_value"] == "44877.05"  # 366 days
    assert report.providers.created == 2


def test_a_header_no_mapping_fits_is_refused(croydon: Ledger, tmp_path: Path) -> None:
    odd = tmp_path / "odd-2019-03-31.csv"
    odd.write_text("Ref,Thing,Cost\nA,B,1\n")
    with pytest.raises(LedgerError, match=r"odd-2019-03-31.csv: the header .* --mapping"):
        run(croydon, odd)


def test_the_commissioner_must_be_given_and_known(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="--commissioner ID"):
        run(ledger, FIRST, commissioner=None)
    with pytest.raises(LedgerError, match="'croydon' is not in the ledger"):
        run(ledger, FIRST)


def test_bad_and_missing_values(croydon: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "reg-2019-03-31.csv"
    path.write_text(
        HEADER
        + "A-1,Advocacy,ASC,Mind,,1000001,40000,01/04/2018,,Open,N,Y\n"
        + "A-2,Housing,ASC,Homes Ltd,1234,,,01/04/2018,31/03/2019,Open,Y,N\n"
        + ",No reference,ASC,Homes Ltd,1234,,100,01/04/2018,31/03/2019,Open,Y,N\n"
        + "A-4,Two suppliers,ASC,Mind,,1000001,60000,01/04/2018,31/03/2019,Open,N,Y\n"
        + "A-4,Two suppliers,ASC,Homes Ltd,1234,,30000,01/04/2018,31/03/2019,Open,Y,N\n"
    )
    report = run(croydon, path)
    assert {(n.record, n.field) for n in report.skipped} == {
        ("row 2 (A-1)", "End Date"),
        ("row 3 (A-2)", "Value of Agreement"),
        ("row 4", "Reference Number"),
    }
    alliance = by_id(croydon)["register:croydon:A-4:2019-03-31:award"]
    assert [p["share"] for p in alliance["providers"]] == ["0.5", "0.5"]
    assert alliance["annual_value"] == "90000.00"

    rows = stored_rows(croydon)
    bad = tmp_path / "reg-2019-06-30.csv"
    bad.write_text(HEADER + "B-1,Advocacy,ASC,Mind,,1000001,40000,01/04/2018,31-31-2019,Open,N,Y\n")
    with pytest.raises(RecordRefused) as caught:
        run(croydon, bad)
    assert f"{bad}: record row 2 (B-1), field 'End Date'" in str(caught.value)
    assert stored_rows(croydon) == rows


def test_latin_1_register(croydon: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "reg-2019-03-31.csv"
    text = (
        HEADER + "C-1,Café,ASC,Café Bébé Counselling,,1000009,£36500,01/04/2018,31/03/2019,,N,Y\n"
    )
    path.write_bytes(text.encode("cp1252"))
    report = run(croydon, path)
    assert report.encodings[str(path)] == "cp1252"
    award = by_id(croydon)["register:croydon:C-1:2019-03-31:award"]
    assert award["annual_value"] == "36500.00" and award["route"] == "unknown"
    assert by_id(croydon)["register:provider:gb-chc-1000009"]["name"] == "Café Bébé Counselling"


def test_snapshot_dates_come_from_file_names(croydon: Ledger, tmp_path: Path) -> None:
    undated = tmp_path / "register.csv"
    shutil.copy(FIRST, undated)
    with pytest.raises(LedgerError, match="snapshot date is not in the file name"):
        run(croydon, undated)
    twice = tmp_path / "copy-2019-03-31.csv"
    shutil.copy(FIRST, twice)
    with pytest.raises(LedgerError, match="two snapshots dated 2019-03-31"):
        run(croydon, FIRST, twice)


@pytest.mark.slow
def test_cli_register_import(store_url: str) -> None:
    from tests.test_cli import cledger

    cledger(
        "record",
        "CommissionerEstablished",
        "--commissioner-id",
        "croydon",
        "--name",
        "Croydon",
        "--kind",
        "council",
        "--effective-on",
        "2005-04-01",
        store=store_url,
    )
    out = cledger(
        "import",
        "--format",
        "register",
        str(FIRST),
        str(SECOND),
        "--commissioner",
        "croydon",
        store=store_url,
    ).stdout
    assert "imported 12 events" in out and "no longer in the register of 2019-06-30" in out


@pytest.mark.parametrize(
    ("size", "quoted", "fragments"),
    [
        (140_000, False, ["record row 3, field 'Title of Agreement': is 140,000 characters"]),
        (1_100_000, True, ["record row 3: a cell longer than 1,048,576 characters"]),
    ],
)
def test_a_cell_beyond_the_limit_is_refused_naming_row_and_column(
    croydon: Ledger, tmp_path: Path, size: int, quoted: bool, fragments: list[str]
) -> None:
    """A cell over 131,072 characters was `unexpected Error: field larger than field limit`."""
    path = tmp_path / "register-2019-03-31.csv"
    title = ('"' + "x" * size) if quoted else "x" * size  # an unclosed quote swallows the rest
    path.write_text(
        HEADER + "MH-1,Advocacy,Adults,Mind,,1000001,1000,01/04/2016,31/03/2019,Open,No,Yes\n"
        f"MH-2,{title},Adults,Mind,,1000001,1000,01/04/2016,31/03/2019,Open,No,Yes\n"
    )
    rows = stored_rows(croydon)
    with pytest.raises(RecordRefused) as caught:
        run(croydon, path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
    assert stored_rows(croydon) == rows


def test_a_register_saved_as_utf16_reads_as_the_same_register(
    croydon: Ledger, tmp_path: Path
) -> None:
    """A spreadsheet's "Unicode text" is UTF-16 with a byte-order mark: it was read as latin-1,
    every other character a NUL, and accepted."""
    path = tmp_path / FIRST.name
    path.write_bytes(FIRST.read_text(encoding="utf-8").encode("utf-16"))
    mapping = load_mapping(EXAMPLES / "croydon-mapping.toml")
    report = run(croydon, path, mapping=mapping)
    assert report.encodings == {str(path): "utf-16"}
    titles = {e["title"] for e in by_id(croydon).values() if e["type"] == "ContractAwarded"}
    assert "Mental health advocacy" in titles
    assert all("\x00" not in t for t in titles)


def test_a_nul_in_a_cell_is_refused_naming_row_and_column(croydon: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "register-2019-03-31.csv"
    path.write_text(
        HEADER + "MH-1,Advocacy,Adults,Mind,\x00,1000001,1000,01/04/2016,31/03/2019,Open,No,Yes\n"
    )
    with pytest.raises(RecordRefused) as caught:
        run(croydon, path)
    assert (
        f"{path}: record row 2, field 'Supplier Company Registration Number': holds a NUL "
        "character; expected text"
    ) in str(caught.value)
    assert "\x00" not in str(caught.value)


def test_a_term_outside_the_ledgers_dates_is_skipped_not_refusing_the_register(
    croydon: Ledger, tmp_path: Path
) -> None:
    """Registers write "no fixed end" as 31/12/9999: that row is skipped and reported (the
    ledger keeps dates from 1900 to 2099), the rest of the register imported."""
    path = tmp_path / "reg-2019-03-31.csv"
    path.write_text(
        HEADER
        + "A-1,Advocacy,ASC,Mind,,1000001,40000,01/04/2018,31/12/9999,Open,N,Y\n"
        + "A-2,Housing,ASC,Homes Ltd,1234,,100,01/04/2018,31/03/2019,Open,Y,N\n"
    )
    report = run(croydon, path)
    (skipped,) = report.skipped
    assert (skipped.record, skipped.field) == ("row 2 (A-1)", "End Date")
    assert "end 9999-12-31 is outside the dates the ledger records" in skipped.why
    awarded = {e for e in by_id(croydon) if e.startswith("register:croydon:")}
    assert awarded == {"register:croydon:A-2:2019-03-31:award"}
