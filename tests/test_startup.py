"""Start fast (issue 17): the command line loads a heavy library only in the commands that use
it, so `cledger --help` or a store command does not pay for charts, spreadsheets, OCDS or the
views. Timing is measured by `benchmarks/commands.py`; here, what is imported."""

from __future__ import annotations

import subprocess
import sys

from tests.test_cli import ROOT

HEAVY = ("altair", "vl_convert", "xlsxwriter", "ocdskit", "jsonschema", "polars")


def _imported_by(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return set(done.stdout.split())


def test_importing_the_cli_imports_no_heavy_library() -> None:
    modules = _imported_by("import infra.cli")
    assert "infra.cli.views" in modules and "infra.cli.brief" in modules
    loaded = {m for m in modules if m.split(".")[0] in HEAVY}
    assert not loaded, sorted(loaded)
    # the store's writing half (the application, its recorders) waits for a command too
    assert "eventsourcing.application" not in modules


def test_help_imports_no_heavy_library_either() -> None:
    code = "from infra.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    modules = _imported_by(code)
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
