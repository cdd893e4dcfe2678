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


pytest_plugins = ["tests.fuzz_summary"]  # the fuzz tests' counts in the terminal summary
