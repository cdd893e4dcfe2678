"""The native export streamed from the stored rows (`infra.interop.native_export`) writes the
very bytes the library's way writes (`infra.interop.native.export_lines`: each row rebuilt as
the library's event object): on the demo conurbation with awkward extra fields (floats the
standard encoder writes its own way, escapes, nesting, a value the library's transcoder wraps)
and on an England sample, on SQLite and PostgreSQL; and `cledger export` writes them too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from infra.bootstrap import open_ledger
from infra.generator import write_england
from infra.interop.native import export_lines, import_file
from infra.interop.native_export import NativeExport
from tests.cli_process import cledger
from tests.test_bulk_identity import conurbation_file

WRAPPED = {
    # a value the library's transcoder turns into a datetime when it reads the row back
    "event_id": "wrapped-1",
    "type": "ProviderRenamed",
    "effective_on": "2024-02-01",
    "recorded_by": "t",
    "name": "Wrapped",
    "x_when": {"_type_": "datetime_iso", "_data_": "2020-01-01T00:00:00+00:00"},
}


def _with_wrapped(path: Path) -> Path:
    provider = next(
        json.loads(line) for line in path.read_text().splitlines() if '"ProviderRegistered"' in line
    )
    with path.open("a") as out:
        out.write(json.dumps({**WRAPPED, "provider_id": provider["provider_id"]}) + "\n")
    return path


def _same(url: str, source: Path) -> bytes:
    ledger = open_ledger(url)
    import_file(ledger, source, slice_size=5_000)
    library = b"".join(export_lines(ledger))
    ledger.close()
    pages = list(NativeExport(url, page=777).lines())
    streamed = b"".join(pages)
    assert streamed == library
    assert len(pages) > 1  # several pages, joined in order
    assert NativeExport(url).count() == library.count(b"\n")
    return streamed


@pytest.mark.slow
def test_the_demo_ledger_exports_the_librarys_bytes(store_url: str, tmp_path: Path) -> None:
    source = _with_wrapped(conurbation_file(tmp_path / "conurbation.jsonl"))
    out = _same(store_url, source)
    assert b'"x_when":"2020-01-01T00:00:00+00:00"' in out  # the library's way, as before
    assert b'"x_list":[1e-7,' in out  # floats written again by orjson, as before


def test_an_england_sample_exports_the_librarys_bytes(store_url: str, tmp_path: Path) -> None:
    source = tmp_path / "england.jsonl"
    write_england(source, seed=7, events=6_000, today=dt.date(2025, 9, 30))
    out = _same(store_url, source)
    assert out.count(b"\n") >= 5_000


def test_cledger_export_writes_the_same_file(tmp_path: Path) -> None:
    source = tmp_path / "england.jsonl"
    write_england(source, seed=11, events=3_000, today=dt.date(2025, 9, 30))
    url = f"sqlite:///{tmp_path}/ledger.db"
    ledger = open_ledger(url)
    import_file(ledger, source)
    library = b"".join(export_lines(ledger))
    ledger.close()
    target = tmp_path / "out.jsonl"
    done = cledger("export", "--output", str(target), store=url)
    assert target.read_bytes() == library
    events = library.count(b"\n")
    assert done.stderr.strip() == f"exported {events} events to {target}"
    to_stdout = cledger("export", store=url)
    assert to_stdout.stdout.encode() == library
