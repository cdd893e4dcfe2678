"""The `cledger` command as users run it: a real process, real stores, plain one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "advocacy.jsonl"
AGREEMENT_KEYS = [
    "agreement_id",
    "title",
    "kind",
    "service_category",
    "status",
    "start",
    "end",
    "annual_value",
    "route",
    "responsible_lead",
    "source",
]


def cledger(
    *args: str, store: str, cache: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """`cledger ARGS` in a real process on `store` (frame caches under `cache` when given)."""
    env = {**os.environ, "CLEDGER_STORE": store, "COLUMNS": "200"}
    env.setdefault("CLEDGER_USER", "tester")  # `record` needs to know who records
    if cache is not None:
        env["CLEDGER_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-m", "infra", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def assert_plain_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.slow
def test_import_list_history_stats_export(store_url: str, tmp_path: Path) -> None:
    assert "imported 9 events" in cledger("import", str(EXAMPLE), store=store_url).stdout
    again = cledger("import", str(EXAMPLE), store=store_url).stdout
    assert "imported 0 events" in again and "9 already in the ledger" in again

    rows = json.loads(
        cledger("agreements", "--as-of", "2008-07-15", "--format", "json", store=store_url).stdout
    )
    assert [list(r) for r in rows] == [AGREEMENT_KEYS]
    # the variation of 42000.00 from 2008-06-01 was corrected to 42500.00; a.jones took over
    assert rows[0] | {} == {
        "agreement_id": "g-001",
        "title": "Advocacy",
        "kind": "grant",
        "service_category": "advocacy",
        "status": "active",
        "start": "2006-04-01",
        "end": "2008-09-30",
        "annual_value": "42500.00",
        "route": "grant_round",
        "responsible_lead": "a.jones",
        "source": None,
    }
    ended = json.loads(
        cledger("agreements", "--format", "json", "--status", "ended", store=store_url).stdout
    )
    assert [(r["agreement_id"], r["status"]) for r in ended] == [("g-001", "expired")]

    history = json.loads(cledger("history", "g-001", "--format", "json", store=store_url).stdout)
    ids = [r["event_id"] for r in history]
    # the handover of g-001 to a.jones (e8) lives on the lead's portfolio: in the history too
    assert ids == ["e3", "e4", "e5", "e6", "  ↳ e7", "e8", "e9"]
    assert history[5]["type"] == "HandedOver" and history[5]["recorded_at"]
    missing = cledger("history", "nope", store=store_url, ok=False)
    assert_plain_error(missing, "no agreement 'nope'")

    stats = {
        r["type"]: r["events"]
        for r in json.loads(cledger("stats", "--format", "json", store=store_url).stdout)
    }
    assert stats["total"] == 9 and stats["Corrected"] == 1

    first = cledger("export", store=store_url).stdout
    other = f"sqlite:///{tmp_path}/copy.db"
    out = tmp_path / "export.jsonl"
    out.write_text(first)
    cledger("import", str(out), store=other)
    assert cledger("export", store=other).stdout == first


@pytest.mark.slow
def test_known_at_without_a_zone_means_utc(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/l.db"
    cledger("import", str(EXAMPLE), store=store)
    past = cledger(
        "agreements", "--known-at", "2000-01-01T00:00:00", "--format", "json", store=store
    ).stdout
    assert json.loads(past) == []
    now = cledger(
        "agreements", "--known-at", "2999-01-01T00:00:00", "--format", "csv", store=store
    ).stdout
    assert now.splitlines()[0] == ",".join(AGREEMENT_KEYS)


@pytest.mark.slow
def test_record_one_event_from_flags(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/l.db"
    cledger("import", str(EXAMPLE), store=store)
    cledger(
        "record",
        "GrantAwarded",
        "--recorded-by",
        "tester",
        "--event-id",
        "g2",
        "--effective-on",
        "2009-04-01",
        "--agreement-id",
        "g-002",
        "--kind",
        "grant",
        "--title",
        "Carers support",
        "--service-category",
        "carers_support",
        "--commissioners",
        '[{"commissioner_id":"council-a","share":"1"}]',
        "--providers",
        '[{"provider_id":"mind-a","role":"sole","share":"1"}]',
        "--annual-value",
        "12000",
        "--start",
        "2009-04-01",
        "--end",
        "2010-03-31",
        "--route",
        "grant_round",
        "--funding-stream",
        "social_care",
        store=store,
    )
    done = cledger(
        "record",
        "Extended",
        "--recorded-by",
        "tester",
        "--agreement-id",
        "g-002",
        "--new-end",
        "2010-01-01",
        "--rationale",
        "x",
        store=store,
        ok=False,
    )
    assert_plain_error(done, "new_end 2010-01-01", "not later than the current end 2010-03-31")
    done = cledger(
        "record",
        "RolledOver",
        "--recorded-by",
        "tester",
        "--agreement-id",
        "g-002",
        "--new-end",
        "2011-03-31",
        store=store,
        ok=False,
    )
    assert_plain_error(done, "field 'rationale' is missing")


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["agreements", "--as-of", "2008-13-01"], ["--as-of", "expected a date"]),
        (["history", "nope"], ["no ledger at", "cledger init"]),  # reading never creates one
        (["import", "/no/such/file.jsonl"], ["/no/such/file.jsonl", "cannot open"]),
        (["record", "Promoted"], ["field 'type' is 'Promoted'"]),
    ],
)
def test_errors_are_one_plain_line(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_plain_error(cledger(*args, store=f"sqlite:///{tmp_path}/l.db", ok=False), *fragments)


def test_a_bad_import_names_file_line_and_field_and_stores_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/l.db"
    lines = EXAMPLE.read_text().splitlines()
    lines[4] = lines[4].replace('"new_end":"2008-09-30"', '"new_end":"30/09/2008"')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    done = cledger("import", str(bad), store=store, ok=False)
    assert_plain_error(done, f"{bad}:5 (event 'e5')", "field 'new_end'", "expected a date")
    assert json.loads(cledger("agreements", "--format", "json", store=store).stdout) == []


def test_unreachable_postgres_is_a_plain_error() -> None:
    done = cledger("stats", store="postgresql://postgres@127.0.0.1:1/nothing", ok=False)
    assert_plain_error(done, "cannot reach PostgreSQL store")
