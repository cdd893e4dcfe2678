"""Write every view command's output for one store into a folder, in one process.

`python -m tests.determinism_driver STORE_URL FOLDER AS_OF COMMISSIONER LEAD` runs each view
command as a user would (the real `cledger` application, its options and its writers) with
`--output` into FOLDER. `tests/test_determinism.py` runs it in separate processes, with and
without `POLARS_MAX_THREADS=1`, and compares the folders byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path


def commands(as_of: str, commissioner: str, lead: str) -> dict[str, list[str]]:
    """Output name -> the command's arguments (without `--store` and `--output`)."""
    day = ["--as-of", as_of]
    views = {
        "market.json": ["market", "--format", "json"],
        "market.csv": ["market", "--format", "csv"],
        "concentration.json": ["concentration", "--format", "json"],
        "mix.json": ["diversity", "--part", "mix", "--format", "json"],
        "entry-exit.json": ["diversity", "--part", "entry-exit", "--format", "json"],
        "at-risk.json": ["diversity", "--part", "at-risk", "--format", "json"],
        "continuity.json": ["continuity", "--format", "json"],
        "pipeline.json": ["pipeline", "--format", "json", "--months", "12"],
        "flags.json": ["flags", "--format", "json"],
        "brief-commissioner.json": ["brief", "--commissioner", commissioner, "--format", "json"],
        "brief-commissioner.md": ["brief", "--commissioner", commissioner],
        "brief-lead.json": ["brief", "--lead", lead, "--format", "json"],
        "export-csv": ["export", "--format", "csv"],
    }
    out = {name: [*args, *day] for name, args in views.items()}
    out["export.jsonl"] = ["export"]  # every event in the native format
    return out


def run(store: str, folder: Path, as_of: str, commissioner: str, lead: str) -> None:
    from infra.cli import app

    folder.mkdir(parents=True, exist_ok=True)
    for name, args in commands(as_of, commissioner, lead).items():
        app(["--store", store, *args, "--output", str(folder / name)], standalone_mode=False)


if __name__ == "__main__":
    store_url, target, day, commissioner_id, lead_name = sys.argv[1:6]
    run(store_url, Path(target), day, commissioner_id, lead_name)
