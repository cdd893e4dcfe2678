"""The site's benchmark (`benchmarks/web.py`) still runs end to end, at a tiny scale: every
page answers, and the table, the CLI's figures beside it and the verdict are printed (the
figures mean nothing at this scale and are not asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_web_benchmark_prints_every_page_and_its_ratio(tmp_path: Path) -> None:
    events, store = tmp_path / "england.jsonl", tmp_path / "england.db"
    env = {**os.environ, "CLEDGER_STORE": f"sqlite:///{store}", "TMPDIR": str(tmp_path)}
    for args in (
        ["demo", "--scale", "england", "--events", "3000", "--output", str(events)],
        ["import", str(events)],
    ):
        subprocess.run([sys.executable, "-m", "infra", *args], env=env, check=True,
                       capture_output=True, cwd=ROOT)  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "web.py"), "--no-demo", "--store", str(store),
         "--repeat", "1", "--work", str(tmp_path / "work"), "--only", "brief (lead)",
         "--only", "market (category)", "--only", "agreement", "--only", "api: flags"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for figure in ("page ", "TTFB", "page/CLI", "brief (lead)", "market (category)", "agreement",
                   "api: flags", "every page under 1.0 s warm:"):  # fmt: skip
        assert figure in out, f"{figure!r} missing from:\n{out}"
