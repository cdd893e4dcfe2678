"""Native import: all or nothing, idempotent, errors naming file, line and field; export round
trip. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from pathlib import Path

import orjson
import pytest

from domain.ledger import Ledger
from infra.interop.native import ImportRefused, export_lines, import_events, read_events
from tests.builders import award, basics, ev
from tests.conftest import stored_rows


def write(path: Path, records: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def big_file(n_agreements: int) -> list[dict]:
    """Two organisations, then n agreements each awarded, rolled over twice and varied."""
    records = [e.to_record() for e in basics()]
    for i in range(n_agreements):
        aid = f"g-{i}"
        records.append(award(aid, "2006-04-01", event_id=f"{aid}-aw").to_record())
        for year, eid in ((2007, "r1"), (2008, "r2")):
            records.append(
                ev(
                    "RolledOver",
                    f"{year}-03-01",
                    agreement_id=aid,
                    new_end=f"{year + 1}-03-31",
                    rationale="performing",
                    event_id=f"{aid}-{eid}",
                ).to_record()
            )
        records.append(
            ev(
                "Varied",
                "2008-06-01",
                agreement_id=aid,
                annual_value="41000.00",
                event_id=f"{aid}-v",
            ).to_record()
        )
    return records


def do_import(ledger: Ledger, path: Path):  # type: ignore[no-untyped-def]
    return import_events(ledger, path, read_events(path))


def test_import_twice_counts_each_event_once(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", big_file(50))
    first = do_import(ledger, path)
    assert first.recorded == 2 + 50 * 4
    rows = stored_rows(ledger)
    second = do_import(ledger, path)
    assert (second.recorded, second.already_present) == (0, 2 + 50 * 4)
    assert stored_rows(ledger) == rows


def test_bad_record_near_the_end_of_a_large_file_leaves_the_store_unchanged(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.record(basics())
    before = stored_rows(ledger)
    records = big_file(1500)[2:]  # 6,000 events
    # a rule broken on the second to last line: an extension that moves the end earlier
    records.insert(
        len(records) - 1,
        ev(
            "Extended",
            "2009-01-01",
            agreement_id="g-1499",
            new_end="2008-01-01",
            rationale="x",
            event_id="bad",
        ).to_record(),
    )
    path = write(tmp_path / "big.jsonl", records)
    with pytest.raises(ImportRefused) as caught:
        do_import(ledger, path)
    message = str(caught.value)
    assert f"{path}:{len(records) - 1} (event 'bad')" in message
    assert "new_end 2008-01-01" in message and "nothing was imported" in message
    assert stored_rows(ledger) == before
    assert ledger.agreement("g-0") is None


@pytest.mark.parametrize(
    "line,fragments",
    [
        (b'{"event_id": "x1", "type": "RolledOver",', ["malformed JSON"]),
        (
            b'{"event_id": "x1", "type": "Promoted", "effective_on": "2006-01-01"}',
            ["field 'type' is 'Promoted'", "expected one of"],
        ),
        (
            b'{"event_id": "x1", "type": "Extended", "effective_on": "2006-01-01", '
            b'"recorded_by": "me", "rationale": "r", "agreement_id": "g-1"}',
            ["field 'new_end' is missing", "expected a date"],
        ),
        (
            b'{"event_id": "x1", "type": "Extended", "effective_on": "01/02/2006", '
            b'"recorded_by": "me", "rationale": "r", "agreement_id": "g-1", '
            b'"new_end": "2007-01-01"}',
            ["field 'effective_on' is '01/02/2006'", "expected a date YYYY-MM-DD"],
        ),
        (b"[1, 2]", ["expected a JSON object"]),
    ],
)
def test_errors_name_file_line_and_field(
    ledger: Ledger, tmp_path: Path, line: bytes, fragments: list[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    good = b"".join(orjson.dumps(e.to_record()) + b"\n" for e in basics())
    path.write_bytes(good + line + b"\n")
    with pytest.raises(ImportRefused) as caught:
        do_import(ledger, path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3")
    for fragment in fragments:
        assert fragment in message, message
    assert stored_rows(ledger) == 0


def test_export_import_export_is_identical(ledger: Ledger, tmp_path: Path, store_url: str) -> None:
    from infra.bootstrap import open_ledger

    records = big_file(20)
    records.append(
        ev(
            "Corrected",
            "2009-01-01",
            corrects="g-3-v",
            fields={"annual_value": "42000.00"},
            event_id="fix",
        ).to_record()
    )
    records.append(
        ev(
            "HandedOver",
            "2009-02-01",
            portfolio_of="j.smith",
            from_lead="j.smith",
            to_lead="a.jones",
            rationale="left",
            notes="all of them",
        ).to_record()
    )
    do_import(ledger, write(tmp_path / "in.jsonl", records))
    first = b"".join(export_lines(ledger))
    path = tmp_path / "export.jsonl"
    path.write_bytes(first)
    other = open_ledger(f"sqlite:///{tmp_path}/other.db")
    do_import(other, path)
    assert b"".join(export_lines(other)) == first
    assert first.count(b"\n") == len(records)


def test_unknown_extra_fields_are_kept(ledger: Ledger, tmp_path: Path) -> None:
    records = [e.to_record() for e in basics()]
    records[1]["x_local_code"] = "MH-17"
    do_import(ledger, write(tmp_path / "x.jsonl", records))
    out = io.BytesIO(b"".join(export_lines(ledger)))
    assert orjson.loads(out.getvalue().splitlines()[1])["x_local_code"] == "MH-17"


def nested(depth: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("record", "fragments"),
    [
        (
            {"type": "Corrected", "corrects": "g-1-aw", "fields": nested(500)},
            ["field 'fields.a.a.a", "nested deeper than 64 levels"],
        ),
        (
            {"type": "Varied", "scope": "s" * 200_000},
            ["field 'scope' is 200,000 characters long", "expected at most 100,000"],
        ),
        ({"type": "Varied", "x": nested(80, [])}, ["field 'x.a.a", "deeper than 64"]),
    ],
)
def test_nesting_and_sizes_are_bounded_and_named(
    ledger: Ledger, tmp_path: Path, record: dict, fragments: list[str]
) -> None:
    """A Corrected nested 500 deep was refused as `unexpected TypeError` (orjson's recursion
    limit, deep in the store): now one line naming the line and the field."""
    common = {"event_id": "x1", "effective_on": "2006-01-01", "recorded_by": "me"}
    path = tmp_path / "deep.jsonl"
    good = b"".join(orjson.dumps(e.to_record()) + b"\n" for e in basics())
    line = json.dumps({**common, "agreement_id": "g-1", **record})  # orjson stops at 255
    path.write_bytes(good + line.encode() + b"\n")
    with pytest.raises(ImportRefused) as caught:
        do_import(ledger, path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3 (event 'x1'): ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert stored_rows(ledger) == 0
