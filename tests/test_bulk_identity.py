"""The bulk import stores exactly the rows the library would: the generated conurbation (every
event type, back-filled history, corrections and rescissions, handovers, reforms) plus records
with awkward extra fields, imported by the per-event path (library aggregates and mapper) and
by the bulk path into two stores with the same clock, compared row by row; and the bulk store
read back through the library. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.stored import encode_state
from infra.bootstrap import open_ledger
from infra.generator import generate
from infra.interop.native import export_lines, import_file, import_file_per_event
from tests.test_bulk_equivalence import clock, rows

AWKWARD = [
    # extra fields of every JSON kind: floats the standard encoder writes its own way, big and
    # negative integers, text needing escapes, nesting
    {
        "x_float": 1e16,
        "x_small": 0.1,
        "x_neg": -0.0,
        "x_big": 18446744073709551615,
        "x_text": 'é \u2028 \u0007 \t " \\ 😀',
        "x_nested": {"a": [1, 2.5, None, True, {"b": []}]},
    },
    {"x_list": [1e-7, 123456789012345678901234567890, -9223372036854775809]},
]


def conurbation_file(path: Path) -> Path:
    records = [e.record for e in generate(seed=2013, today=dt.date(2025, 6, 1))]
    for i, extra in enumerate(AWKWARD):  # a rename per awkward extra, on the first provider
        first = next(r for r in records if r["type"] == "ProviderRegistered")
        records.append(
            {
                "event_id": f"awkward-{i}",
                "type": "ProviderRenamed",
                "effective_on": "2024-01-01",
                "recorded_by": "t",
                "provider_id": first["provider_id"],
                "name": f"Name {i}",
                **extra,
            }
        )
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return conurbation_file(tmp_path_factory.mktemp("identity") / "conurbation.jsonl")


@pytest.fixture
def second_url(store_url: str, tmp_path: Path) -> Any:
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/second.db"
        return
    import uuid

    from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin

    name = f"cledger_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_bulk_rows_are_the_librarys_rows(source: Path, store_url: str, second_url: str) -> None:
    reference = open_ledger(store_url, clock=clock())
    bulk = open_ledger(second_url, clock=clock())
    first = import_file_per_event(reference, source)
    second = import_file(bulk, source, slice_size=1_000)
    assert first.recorded == second.recorded > 4_000
    stored, index = rows(reference)
    assert (stored, index) == rows(bulk)
    assert len(stored) > len(index) == first.recorded  # portfolios' book-keeping rows too

    # read back through the library: the same facts, histories and terms
    assert [(f.notification_id, f.event, f.recorded_at, f.moved) for f in bulk.facts()] == [
        (f.notification_id, f.event, f.recorded_at, f.moved) for f in reference.facts()
    ]
    assert b"".join(export_lines(bulk)) == b"".join(export_lines(reference))
    ids = {
        f.event.data["agreement_id"] for f in reference.facts() if "agreement_id" in f.event.data
    }
    for agreement_id in sorted(ids)[:15]:
        assert bulk.history(agreement_id) == reference.history(agreement_id)
        mine, theirs = bulk.agreement(agreement_id), reference.agreement(agreement_id)
        assert mine is not None and theirs is not None
        assert mine.terms() == theirs.terms()
    # and a re-import adds nothing, by either path
    assert import_file(bulk, source).already_present == first.recorded
    reference.close()
    bulk.close()


json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1), json_value, min_size=1, max_size=5))
def test_state_encoding_is_the_library_transcoders(body: dict[str, Any]) -> None:
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=dt.UTC)
    library = JSONTranscoder()
    from eventsourcing.persistence import DatetimeAsISO

    library.register(DatetimeAsISO())
    # values as a JSON file would give them (the import reads them with orjson)
    data = orjson.loads(json.dumps(body))
    native = {"event_id": "e1", "effective_on": "2006-04-01", "rationale": None, "data": data}
    assert encode_state(stamp.isoformat(), native, data) == library.encode(
        {"timestamp": stamp, **native}
    )
