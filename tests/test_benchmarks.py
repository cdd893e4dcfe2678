"""The documented benchmark commands still run, end to end, at a tiny scale.

Why: benchmarks are run by hand, rarely, and import much of the code; a rename elsewhere
would break them silently until someone needs the figures. These runs check that each command
completes and prints every figure it promises; the figures themselves mean nothing at this
scale and are not asserted (speed is measured, not asserted in tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(tmp_path: Path, script: str, *args: str) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path), "CLEDGER_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_projections_benchmark_prints_every_figure_and_ratio(tmp_path: Path) -> None:
    out = _run(
        tmp_path, "projections.py", "--events", "3000", "--work", str(tmp_path), "--repeat", "1"
    )
    for figure in (
        "load / bare =",
        "market views / hand-written =",
        "every view / hand-written   =",
        "market view alone, every event",
        "on the awards alone",
        "read the cache + market view =",
        "one view / that =",
    ):
        assert figure in out, f"{figure!r} missing from:\n{out}"


@pytest.mark.slow
def test_import_rate_benchmark_prints_its_ratios(tmp_path: Path) -> None:
    out = _run(tmp_path, "import_rate.py", "--events", "2000", "--no-postgres")
    assert "ledger / bare  =" in out
    assert "ledger / naive =" in out


@pytest.mark.slow
def test_commands_benchmark_prints_its_table_and_ratios(tmp_path: Path) -> None:
    """A few commands at a tiny scale: the table, the yardstick, the refresh."""
    events = tmp_path / "england.jsonl"
    store = tmp_path / "england.db"
    env = {**os.environ, "CLEDGER_STORE": f"sqlite:///{store}"}
    for args in (
        ["demo", "--scale", "england", "--events", "3000", "--output", str(events)],
        ["import", str(events)],
    ):
        subprocess.run([sys.executable, "-m", "infra", *args], env=env, check=True,
                       capture_output=True, cwd=BENCHMARKS.parent)  # fmt: skip
    out = _run(
        tmp_path, "commands.py", "--store", str(store), "--events-file", str(events),
        "--work", str(tmp_path / "work"), "--repeat", "1", "--only", "stats",
        "--only", "market --year",
    )  # fmt: skip
    for figure in (
        "| command | warm CPU s | warm wall s | warm peak MB | cold CPU s |",
        "| `stats` |",
        "| `market --year --format json` |",
        "DuckDB awards-only spend per provider and year",
        "refresh after a 1,000-event import, `stats`",
        "x DuckDB's query on a loaded table",
    ):
        assert figure in out, f"{figure!r} missing from:\n{out}"
    assert "FAILED" not in out
