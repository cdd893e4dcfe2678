"""Figures people can present: the brief's Markdown (sections in words, money in pounds and
pence, `--months`, each handover's recorded time and what a known-at brief cannot see) and the
charts (names, the segment and the as-of date, committed years marked or left out, the HHI
thresholds named). Through the real `cledger` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest

from tests.cli_process import EXAMPLE, cledger
from tests.test_cli_names import CONTRACT

HANDOVER = [
    "record", "HandedOver", "--agreements", '["c-002"]', "--from-lead", "b.brown",
    "--to-lead", "a.jones", "--effective-on", "2008-06-01", "--event-id", "h2",
    "--rationale", "b.brown retired", "--notes", "the café's lease runs to 2011",
]  # fmt: skip


@pytest.mark.slow
def test_the_brief_in_words_with_money_and_handovers(store_url: str) -> None:
    cledger("import", str(EXAMPLE), store=store_url)
    cledger(*CONTRACT, store=store_url)
    time.sleep(1.1)
    between = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    time.sleep(1.1)
    cledger(*HANDOVER, store=store_url)

    brief = cledger("brief", "--lead", "a.jones", "--as-of", "2008-08-01", store=store_url).stdout
    headings = re.findall(r"^## (.+)$", brief, flags=re.M)
    assert headings[0] == "How the portfolio came to you"
    assert "Decisions due in the next 6 months" in headings
    assert "`" not in brief.split("\n## ")[0] and not re.search(r"^`\w+`$", brief, flags=re.M)
    # g-001 (42,500.00 after the correction) and c-002 (1,234,567.80): pounds and pence
    assert "2 agreements held, worth £1,277,067.80 a year" in brief
    assert "| £1,234,567.80 |" in brief and "| £42,500.00 |" in brief
    # each handover says when it was recorded
    received = brief.split("## How the portfolio came to you")[1].split("\n## ")[0]
    assert received.count(" UTC |") + received.count("+00:00 |") == 2, received

    # as known before the handover was recorded: c-002 is b.brown's, and the brief says why
    then = cledger(
        "brief", "--lead", "a.jones", "--as-of", "2008-08-01", "--known-at", between,
        store=store_url,
    ).stdout  # fmt: skip
    assert "1 agreement held, worth £42,500.00 a year" in then
    assert f"1 handover to you in effect by 2008-08-01 was recorded after {between[:10]}" in then

    # --months reaches further: g-001 ends 2008-09-30, c-002 2011-03-31
    short = json.loads(
        cledger(
            "brief",
            "--lead",
            "a.jones",
            "--as-of",
            "2008-08-01",
            "--format",
            "json",
            store=store_url,
        ).stdout  # fmt: skip
    )
    long = cledger(
        "brief", "--lead", "a.jones", "--as-of", "2008-08-01", "--months", "36",
        store=store_url,
    ).stdout  # fmt: skip
    assert [r["agreement_id"] for r in short["due"]] == ["g-001"]
    assert "Decisions due in the next 36 months" in long and "2 decisions due" in long


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db"
    cledger("demo", store=store)
    return store


@pytest.mark.slow
def test_charts_name_names_and_mark_the_committed_years(demo_store: str, tmp_path: Path) -> None:
    out = tmp_path / "market.svg"
    cledger("market", "--as-of", "2015-03-31", "--category", "advice_and_counselling",
            "--commissioner", "stanmoor-mbc", "--chart", str(out), store=demo_store)  # fmt: skip
    svg = out.read_text()
    assert "Market share by provider: Advice and counselling, Stanmoor Metropolitan Borough" in svg
    assert "As of 31 March 2015" in svg and "as of 31 Mar 2015" in svg
    assert "Stanmoor and District Mind" in svg and "stanmoor-mind" not in svg
    assert "Faded after the as-of date" in svg

    cut = tmp_path / "cut.svg"
    cledger("market", "--as-of", "2015-03-31", "--until", "2014/15", "--chart", str(cut),
            store=demo_store)  # fmt: skip
    text = cut.read_text()
    assert "2014/15" in text and "2015/16" not in text and "Faded" not in text

    hhi = tmp_path / "hhi.svg"
    cledger("concentration", "--as-of", "2015-03-31", "--chart", str(hhi), store=demo_store)
    text = hhi.read_text()
    assert "1,500: moderately concentrated" in text and "2,500: highly concentrated" in text
    assert "Concentration (HHI) by service category, all commissioners" in text

    mix = tmp_path / "mix.svg"
    cledger("diversity", "--commissioner", "kv-icb", "--as-of", "2024-03-31", "--chart",
            str(mix), store=demo_store)  # fmt: skip
    text = mix.read_text()
    assert "NHS Kelham and Vale Integrated Care Board" in text and "Third sector" in text
