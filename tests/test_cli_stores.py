"""Stores are opened, not conjured; file-system trouble is one line naming the path and what to
do. Every case through the real `cledger` process, on SQLite and PostgreSQL where a store is
involved."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.cli_process import EXAMPLE, cledger, plain_error
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin

NO_LEDGER = "create one with 'cledger init' or 'cledger demo'"
# one reader of each kind: the register, the event frame, a snapshot, the names, a report
READERS = [
    ["agreements"],
    ["market", "--format", "json"],
    ["flags"],
    ["leads"],
    ["find", "mind"],
    ["history", "g-001"],
    ["brief", "--lead", "j.smith"],
    ["export"],
    ["stats"],
]


def _pg_exists(name: str) -> bool:
    with _admin() as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0])
def test_a_reader_on_a_missing_sqlite_store_says_so_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "typo" / "ledger.db"
    line = plain_error(cledger(*args, store=f"sqlite:///{db}", ok=False), NO_LEDGER)
    assert line == f"error: no ledger at {db}; {NO_LEDGER}"
    assert not (tmp_path / "typo").exists()  # no folder, no file, no cache


def test_the_default_store_is_not_made_in_the_current_folder(tmp_path: Path) -> None:
    plain_error(cledger("agreements", cwd=tmp_path, ok=False), "no ledger at ledger.db", NO_LEDGER)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_a_reader_on_a_missing_postgres_database_says_so_and_creates_nothing() -> None:
    name = f"cledger_missing_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    for args in (["agreements"], ["market"], ["leads"]):
        plain_error(cledger(*args, store=url, ok=False), f"no ledger at {url}; {NO_LEDGER}")
    assert not _pg_exists(name)


def test_writers_create_the_store_and_readers_then_read(store_url: str) -> None:
    if store_url.startswith("postgresql"):  # the fixture made the database: start without it
        with _admin() as conn:
            conn.execute(f'DROP DATABASE "{store_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    assert "ledger ready at" in cledger("init", store=store_url).stdout
    assert "total" in cledger("stats", store=store_url).stdout
    cledger("import", str(EXAMPLE), store=store_url)
    assert "Mind A" in cledger("providers", "--format", "csv", store=store_url).stdout


@pytest.mark.integration
def test_a_postgres_database_without_a_ledger_is_no_ledger(pg_url: str) -> None:
    plain_error(cledger("stats", store=pg_url, ok=False), f"no ledger at {pg_url}")
    with psycopg.connect(pg_url) as conn:  # and nothing was made in it
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_a_store_that_is_a_folder_or_not_a_ledger(tmp_path: Path) -> None:
    plain_error(
        cledger("agreements", store=f"sqlite:///{tmp_path}", ok=False),
        f"store {tmp_path} is a folder; expected a ledger file such as {tmp_path / 'ledger.db'}",
    )
    plain_error(cledger("init", store=f"sqlite:///{tmp_path}", ok=False), "is a folder")
    text = tmp_path / "notes.db"
    text.write_text("not a database, just words " * 50)
    plain_error(
        cledger("stats", store=f"sqlite:///{text}", ok=False),
        f"store {text} is not a ledger",
        "made by 'cledger init'",
    )


def test_an_unwritable_place_for_a_new_store(tmp_path: Path) -> None:
    # /sys refuses new files even to root: the one unwritable folder a test can count on
    done = cledger("init", store="sqlite:////sys/kernel/cledger/ledger.db", ok=False)
    plain_error(done, "cannot create the ledger /sys/kernel/cledger/ledger.db", "choose a place")


@pytest.mark.slow
def test_output_paths_that_cannot_be_written(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/l.db"
    cledger("import", str(EXAMPLE), store=store)
    # a full disk (writing to /dev/full fails for want of space)
    plain_error(cledger("export", "/dev/full", store=store, ok=False), "no space left")
    # a folder where a file is expected
    folder = tmp_path / "out"
    folder.mkdir()
    plain_error(
        cledger("export", str(folder), store=store, ok=False),
        f"cannot use {folder}: it is a folder; expected a file",
    )
    # a file where a folder is expected
    plain_error(
        cledger("export", "--format", "csv", "--output", str(EXAMPLE), store=store, ok=False),
        f"{EXAMPLE} is a file; expected a folder",
    )
    # a workbook in a place that cannot be written: the path the user gave, not a temporary
    line = plain_error(
        cledger(
            "export", "--format", "xlsx", "--output", "/sys/kernel/x.xlsx", store=store, ok=False
        ),
        "/sys/kernel/x.xlsx",
    )
    assert ".partial" not in line
    plain_error(
        cledger("market", "--chart", "/sys/kernel/m.png", store=store, ok=False),
        "cannot write chart /sys/kernel/m.png",
    )
    plain_error(
        cledger("flags", "--format", "parquet", "--output", str(folder), store=store, ok=False),
        str(folder),
    )
    plain_error(
        cledger("import", str(folder), store=store, ok=False), str(folder)
    )  # a folder to import


@pytest.mark.parametrize(
    "args,fragments",
    [
        (
            ["agreements", "--format", "xml"],
            ["cledger agreements: invalid value for '--format'", "'xml' is not one of"],
        ),
        (["market", "--nope"], ["cledger market: no such option: --nope"]),
        (["history"], ["cledger history: missing argument"]),
        (["nosuchcommand"], ["no such command 'nosuchcommand'"]),
    ],
)  # fmt: skip
def test_usage_errors_are_one_plain_line(args: list[str], fragments: list[str]) -> None:
    plain_error(cledger(*args, store="sqlite:///unused.db", ok=False), *fragments, "--help")
