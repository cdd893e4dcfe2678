"""Running `cledger` as users do: a real process, its own environment, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "advocacy.jsonl"


def cledger(
    *args: str,
    store: str | None = None,
    ok: bool = True,
    env: dict[str, str | None] | None = None,
    cwd: Path | None = None,
    columns: int = 200,
) -> subprocess.CompletedProcess[str]:
    """`cledger ARGS` in a real process on `store` (none: whatever the environment says)."""
    environ: dict[str, str | None] = {
        **os.environ,
        "COLUMNS": str(columns),
        "CLEDGER_USER": "tester",
    }
    environ.pop("CLEDGER_STORE", None)
    if store is not None:
        environ["CLEDGER_STORE"] = store
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "infra", *args],
        capture_output=True,
        text=True,
        env={k: v for k, v in environ.items() if v is not None},
        cwd=cwd or ROOT,
        timeout=180,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def plain_error(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The one line of a failed command, checked: exit 1, no traceback, no box, every
    fragment in it."""
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "╭" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
