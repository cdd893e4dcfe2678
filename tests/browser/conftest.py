"""The browser tests' parts: Debian's Chromium, axe-core from npm, and `cledger serve` on a
free port of 127.0.0.1 as a real process.

Chromium missing: skipped with the reason on a developer's machine, but a failure in CI
(`CI=true`), so the browser tests can never pass there unseen.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path(os.environ.get("CLEDGER_CHROMIUM", "/usr/bin/chromium"))
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("CLEDGER_SCREENSHOTS", ROOT / "out" / "browser"))


def _missing(what: str, fix: str) -> None:
    message = f"{what} is missing; {fix}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the browser tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        _missing(f"Chromium ({CHROMIUM})", "install Debian's chromium (.ci/run does)")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        _missing(f"axe-core ({AXE})", "run 'npm ci' in tests/browser (.ci/run does)")
    return AXE.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.cli_process import cledger

    store = f"sqlite:///{tmp_path_factory.mktemp('browser')}/demo.db"
    cledger("demo", store=store)
    return store


@pytest.fixture(scope="module")
def server(demo_store: str) -> Iterator[str]:
    """`cledger serve` on the demo ledger; its base URL."""
    port = free_port()
    env = {**os.environ, "CLEDGER_STORE": demo_store}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/static/site.css", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    out = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"cledger serve did not start on {base}: {out}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
