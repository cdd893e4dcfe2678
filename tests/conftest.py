"""Fixtures: the same tests run on the embedded SQLite file and on the real PostgreSQL server.

PostgreSQL tests create a database of their own on 127.0.0.1 and drop it afterwards. They are
never skipped: with no server reachable they fail, so CI cannot pass them unseen.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from domain.ledger import Ledger
from infra.bootstrap import open_ledger

PG_HOST = os.environ.get("CLEDGER_TEST_PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CLEDGER_TEST_PGPORT", "5432"))
PG_USER = os.environ.get("CLEDGER_TEST_PGUSER", "postgres")


def _admin() -> psycopg.Connection:
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    name = f"cledger_test_{uuid.uuid4().hex[:12]}"
    try:
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}: {err}")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def ledger(store_url: str) -> Iterator[Ledger]:
    app = open_ledger(store_url)
    yield app
    app.close()


def stored_rows(ledger: Ledger) -> int:
    """How many events the store holds (to show a refused command stored nothing)."""
    return sum(ledger.recorder.count_by_topic().values())  # type: ignore[attr-defined]


# -- counts of the property and fuzz tests, in pytest's terminal summary ------------------------
# A test that counts (examples accepted, refused ...) writes a JSON object with a "name" into a
# file of its own in the folder named by CLEDGER_TEST_COUNTS (made here, in the controlling
# process, before xdist starts its workers, which inherit the variable); the summary prints
# every file found there. Files, not `config.stash`, because xdist's workers are other processes.
_COUNTS = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    import tempfile

    folder = tempfile.mkdtemp(prefix="cledger-counts-")
    os.environ["CLEDGER_TEST_COUNTS"] = folder
    config.stash[_COUNTS] = folder


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    import json
    import shutil
    from pathlib import Path

    folder = config.stash.get(_COUNTS, None)
    if folder is None:
        return
    found = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    shutil.rmtree(folder, ignore_errors=True)
    if not found:
        return
    terminalreporter.section("property and fuzz counts")
    for counts in sorted(found, key=lambda c: str(c.get("name"))):
        name = counts.pop("name", "?")
        terminalreporter.write_line(
            f"{name}: "
            + ", ".join(
                f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
                for key, value in counts.items()
            )
        )
