"""The streaming benchmark still runs end to end and prints every figure, at a tiny scale (the
demo conurbation, a few seconds of steady writes). The figures themselves mean nothing here and
are not asserted. About a minute."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.stream_harness import build_demo

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "stream.py"


def test_stream_benchmark_prints_every_figure_and_ratio(tmp_path: Path) -> None:
    store = build_demo(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--store",
            str(store),
            "--big",
            str(store),
            "--batch",
            "200",
            "--rate",
            "100",
            "--seconds",
            "3",
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in (
        "end to end:",
        "bare produce:",
        "bare consume:",
        "end to end / slower bare (messages) =",
        "median",
        "p99",
        "batch / rebuild =",
        "CPU",
    ):
        assert figure in done.stdout, f"{figure!r} missing from:\n{done.stdout}"
