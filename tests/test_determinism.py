"""The same store and command give byte-identical output on every run (issue 13, part 6).

Each view command (market, concentration, the three diversity parts, continuity, the pipeline,
the flags, the brief as JSON and Markdown, every view exported as CSV, the native export) runs
in three processes on one generated England-scale ledger of about 50,000 events: twice as
users run it, and once on a single polars thread. Every output file must be identical, byte
for byte. Before spend and the indices were summed in fixed point, two runs of `market` on
this ledger differed in the last digits of hundreds of shares, and one thread against two in
the brief as well. Takes about 30 s of CPU per store.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from infra.generator import write_england

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2025, 9, 30)  # the generated history ends here
AS_OF = "2025-06-30"


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr


def _busiest(native: Path) -> tuple[str, str]:
    """The commissioner and the lead named by the most awards (their briefs are the largest)."""
    commissioners: Counter[str] = Counter()
    leads: Counter[str] = Counter()
    with native.open("rb") as lines:
        for line in lines:
            record = orjson.loads(line)
            if record["type"] in ("GrantAwarded", "ContractAwarded"):
                commissioners.update(c["commissioner_id"] for c in record["commissioners"])
                if record.get("responsible_lead"):
                    leads[record["responsible_lead"]] += 1
    return commissioners.most_common(1)[0][0], leads.most_common(1)[0][0]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_every_view_gives_the_same_bytes_on_every_run(store_url: str, tmp_path: Path) -> None:
    native = tmp_path / "england.jsonl"
    write_england(native, seed=2013, events=50_000, today=TODAY)
    env = {**os.environ, "CLEDGER_STORE": store_url, "CLEDGER_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("POLARS_MAX_THREADS", None)
    _run(["-m", "infra", "import", str(native)], env)
    commissioner, lead = _busiest(native)
    runs = {
        "first": env,  # builds the frame cache as it goes
        "second": env,
        "one thread": {**env, "POLARS_MAX_THREADS": "1"},
    }
    outputs = {}
    for name, run_env in runs.items():
        folder = tmp_path / name.replace(" ", "-")
        driver = ["-m", "tests.determinism_driver", store_url, str(folder), AS_OF]
        _run([*driver, commissioner, lead], run_env)
        outputs[name] = _files(folder)
    first = outputs["first"]
    # the ledger is large enough to have shown the problem: thousands of shares
    shares = orjson.loads(first["market.json"])
    assert len(shares) > 5_000 and first["export-csv/market.csv"] == first["market.csv"]
    brief = orjson.loads(first["brief-commissioner.json"])
    assert brief["scope"]["agreements"] > 0 and brief["spend_last_year"]
    for name in ("second", "one thread"):
        assert outputs[name].keys() == first.keys()
        differ = [file for file, data in outputs[name].items() if data != first[file]]
        assert not differ, f"the {name} run wrote other bytes to {differ}"
