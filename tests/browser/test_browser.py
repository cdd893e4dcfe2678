"""End to end in a real browser (issue 16): `cledger serve` on the demo ledger, driven by
Debian's Chromium through Playwright. A reader opens the home page, searches for a lead, reads
their brief, moves the as-of date back and sees the figures the ledger gives for that date,
opens an agreement with a correction, prints the brief to PDF; axe-core finds no serious or
critical accessibility violation on any page; an unknown lead is a one-line 404; and no
request the browser makes leaves 127.0.0.1. Screenshots of every page go to `out/browser/`
(`CLEDGER_SCREENSHOTS`)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.browser.conftest import SHOTS
from tests.web_support import corrected_agreement

pytestmark = pytest.mark.slow


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def browser_page(server: str, chromium_path: str) -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True)
        # the test injects axe-core as a script of its own: the site's CSP would refuse it
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page, requests
        context.close()
        browser.close()


def _lead_whose_brief_changes(base: str) -> tuple[str, int, str, int]:
    """A lead holding agreements today, a date when they held a different number, and both
    numbers as the API (the CLI's JSON) gives them."""
    for row in api(base, "/api/leads"):
        if row["held"] <= 0:
            continue
        lead = row["lead"]
        now = api(base, f"/api/brief?lead={quote(lead)}")["scope"]["agreements"]
        for day in ("2024-04-01", "2022-04-01", "2020-04-01", "2018-04-01"):
            try:
                then = api(base, f"/api/brief?lead={quote(lead)}&as_of={day}")["scope"]
            except urllib.error.HTTPError:
                continue
            if then["agreements"] != now:
                return lead, now, day, then["agreements"]
    raise AssertionError("no lead of the demo held a different number of agreements earlier")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_reader_finds_a_lead_reads_the_brief_then_an_agreement_and_prints(
    server: str, browser_page: tuple[Any, list[str]], demo_store: str
) -> None:
    page, requests = browser_page
    lead, held_now, day, held_then = _lead_whose_brief_changes(server)

    page.goto(server + "/")
    assert page.locator("#agreements-open").inner_text().strip()
    _shot(page, "home")

    page.fill("#q", lead)
    page.press("#q", "Enter")
    page.wait_for_url("**/search?**")
    _shot(page, "search")
    page.locator("ul.results a", has_text=lead).first.click()
    page.wait_for_url("**/brief?**")
    assert page.locator("h1").inner_text() == f"Handover brief: {lead}"
    assert page.locator("#held").inner_text() == str(held_now)
    _shot(page, "brief")

    page.fill("#as_of", day)
    page.locator("form.when button").click()
    page.wait_for_url(f"**as_of={day}**")
    assert page.locator("#held").inner_text() == str(held_then), (day, held_then)
    assert "as of" in page.locator("#banner").inner_text()
    _shot(page, "brief-then")

    page.emulate_media(media="print")
    assert not page.locator("header.site nav").is_visible()
    assert not page.locator("form.when").is_visible()
    assert page.locator("#banner").is_visible()  # the date printed says what the page shows
    page.pdf(path=str(SHOTS / "brief.pdf"), format="A4")
    page.emulate_media(media="screen")
    assert (SHOTS / "brief.pdf").read_bytes()[:5] == b"%PDF-"

    agreement = corrected_agreement(demo_store)
    page.goto(f"{server}/agreements/{agreement}")
    assert page.locator("tr.amendment").count() >= 1
    # the correction sits right under the record it corrects
    assert page.locator("tr.amended + tr.amendment").count() >= 1
    assert page.locator("figure.chart svg").count() == 1
    _shot(page, "agreement")

    response = page.goto(server + "/brief?lead=nobody%40nowhere.example")
    assert response is not None and response.status == 404
    message = page.locator("#error").inner_text()
    assert "\n" not in message.strip() and "nobody@nowhere.example" in message
    _shot(page, "unknown-lead")

    _only_this_server(server, requests)


PAGES = {
    "home": "/",
    "search": "/search?q=housing",
    "agreements": "/agreements",
    "market": "/market?category=advocacy",
    "market-all": "/market",
    "flags": "/flags",
    "pipeline": "/pipeline?months=12",
    "providers": "/providers",
    "commissioners": "/commissioners",
    "leads": "/leads",
    "categories": "/categories",
    "not-found": "/brief?lead=nobody",
}


def test_no_page_has_a_serious_accessibility_violation(
    server: str, browser_page: tuple[Any, list[str]], axe_source: str, demo_store: str
) -> None:
    page, requests = browser_page
    lead = next(r["lead"] for r in api(server, "/api/leads") if r["held"] > 0)
    commissioner = next(r for r in api(server, "/api/commissioners") if r["held"] > 0)
    provider = next(r for r in api(server, "/api/providers") if r["held"] > 0)
    pages = {
        **PAGES,
        "brief-lead": f"/brief?lead={quote(lead)}",
        "brief-commissioner": f"/brief?commissioner={commissioner['commissioner_id']}",
        "commissioner": f"/commissioners/{commissioner['commissioner_id']}",
        "provider": f"/providers/{provider['provider_id']}",
        "agreement": f"/agreements/{corrected_agreement(demo_store)}",
        "sorted": "/agreements?sort=annual_value&order=desc&as_of=2015-01-01",
    }
    found = {}
    for name, path in pages.items():
        page.goto(server + path)
        page.add_script_tag(content=axe_source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} e.g. {v['nodes'][0]['html'][:120]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            found[name] = bad
        _shot(page, f"page-{name}")
    assert not found, json.dumps(found, indent=1)
    _only_this_server(server, requests)


def _only_this_server(base: str, requests: list[str]) -> None:
    """Every request the browser made went to the server under test on 127.0.0.1."""
    assert requests
    here = urlsplit(base).netloc
    elsewhere = [u for u in requests if not u.startswith("data:") and urlsplit(u).netloc != here]
    assert not elsewhere, elsewhere
