"""The fuzz tests' counts in pytest's terminal summary, with or without xdist.

Why a file per test: under xdist the tests run in worker processes and only the controller
writes the terminal summary. The controller (or a run without xdist) makes a folder at
configure time and passes it to the workers through the environment, which they inherit; each
fuzz test writes its counts there as JSON; the controller reads them all at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

ENV = "CLEDGER_FUZZ_COUNTS_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller made the folder
        return
    folder = tempfile.mkdtemp(prefix="cledger-fuzz-counts-")
    os.environ[ENV] = folder
    config.stash[_KEY] = Path(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_KEY, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def record_counts(name: str, counts: dict[str, Any]) -> None:
    """Called by a fuzz test: its counts (seed, accepted, refused, other...) for the summary."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    (Path(folder) / f"{safe}.json").write_text(json.dumps({"name": name, **counts}))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    folder = config.stash.get(_KEY, None)
    if folder is None or not folder.exists():
        return
    found = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    if not found:
        return
    terminalreporter.section("fuzz counts")
    for c in found:
        terminalreporter.write_line(
            f"{c['name']}: seed {c['seed']}, {c['cases']} {c['unit']}: {c['accepted']} accepted, "
            f"{c['refused']} refused cleanly, {c['other']} anything else; views run "
            f"{c['view_runs']} times"
        )


_KEY = pytest.StashKey[Path]()
