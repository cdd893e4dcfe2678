"""The site (issue 16) through FastAPI's test client, on a demo ledger: every page and its CSV,
sorting, the JSON API's figures equal to the CLI's JSON, read-only, one-line errors, escaping,
and a store that grows seen by the next request."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from infra.web import create_app
from tests.cli_process import cledger
from tests.web_support import cli_json, corrected_agreement


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = f"sqlite:///{tmp_path_factory.mktemp('webdemo')}/demo.db"
    cledger("demo", store=store)
    return store


@pytest.fixture(scope="module")
def client(demo_store: str) -> Iterator[TestClient]:
    with TestClient(create_app(demo_store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def names(client: TestClient) -> dict[str, str]:
    """A lead, a commissioner, a provider and a category that hold agreements today."""
    return _holding(client, "")


@pytest.fixture(scope="module")
def names_2014(client: TestClient) -> dict[str, str]:
    """... that held agreements on 1 April 2014 as known on 1 June 2014 (their pages answer
    as known then, and now)."""
    return _holding(client, "?as_of=2014-04-01&known_at=2014-06-01T00:00")


def _holding(client: TestClient, when: str) -> dict[str, str]:
    def first(kind: str, key: str) -> str:
        rows = client.get(f"/api/{kind}{when}").json()
        return str(next(r[key] for r in rows if r["held"] > 0))

    return {
        "lead": first("leads", "lead"),
        "commissioner": first("commissioners", "commissioner_id"),
        "provider": first("providers", "provider_id"),
        "category": first("categories", "service_category"),
    }


def pages(names: dict[str, str], agreement: str) -> list[str]:
    lead, com, prov, cat = (
        quote(names[k]) for k in ("lead", "commissioner", "provider", "category")
    )
    return [
        "/", "/search?q=housing", f"/brief?lead={lead}", f"/brief?commissioner={com}",
        "/agreements", f"/agreements/{agreement}", "/market", f"/market?category={cat}",
        f"/market?commissioner={com}&category={cat}", "/flags", "/pipeline?months=12",
        "/providers", f"/providers/{prov}", "/commissioners", f"/commissioners/{com}",
        "/leads", "/categories",
    ]  # fmt: skip


@pytest.mark.slow
def test_every_page_answers_with_a_banner_a_form_and_tables_that_download(
    client: TestClient, names_2014: dict[str, str], demo_store: str
) -> None:
    agreement = corrected_agreement(demo_store)
    for page in pages(names_2014, agreement):
        for when in ("", "as_of=2014-04-01", "as_of=2014-04-01&known_at=2014-06-01T00:00"):
            url = page + ("&" if "?" in page else "?") + when if when else page
            r = client.get(url)
            if page.startswith("/agreements/") and "known_at" in url:  # awarded after 2014
                assert r.status_code == 404 and "no agreement" in r.text
                continue
            assert r.status_code == 200, (url, r.text[:300])
            html = r.text
            assert 'id="banner"' in html and 'name="as_of"' in html and 'name="known_at"' in html
            if "as_of=2014-04-01" in url:
                assert "as of 1 April 2014" in html
            if "known_at" in url:
                assert "as it was known at 2014-06-01 00:00 UTC" in html
        if page in ("/", "/search?q=housing"):
            continue
        path, _, query = page.partition("?")
        r = client.get(f"{path}.csv" + (f"?{query}" if query else ""))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), page
        header = next(csv.reader(io.StringIO(r.text)))
        assert header and all(header), page


@pytest.mark.slow
def test_the_brief_is_the_cli_brief_and_its_csv_the_cli_csv(
    client: TestClient, names: dict[str, str], demo_store: str, tmp_path: Path
) -> None:
    lead = names["lead"]
    for as_of in ("2014-04-01", None):
        args = ["brief", "--lead", lead] + (["--as-of", as_of] if as_of else [])
        api = client.get("/api/brief", params={"lead": lead, "as_of": as_of}).json()
        assert api == cli_json(demo_store, *args)
    html = client.get("/brief", params={"lead": lead}).text
    held = cli_json(demo_store, "brief", "--lead", lead)["scope"]["agreements"]
    assert f'<dd id="held">{held}</dd>' in html
    cledger("brief", "--lead", lead, "--format", "csv", "--output", str(tmp_path), store=demo_store)
    for section in ("holdings", "due", "flags", "continuity"):
        web = client.get("/brief.csv", params={"lead": lead, "table": section}).text
        assert web == (tmp_path / f"{section}.csv").read_text(), section


@pytest.mark.slow
def test_the_api_answers_what_the_cli_answers(
    client: TestClient, names: dict[str, str], demo_store: str
) -> None:
    com, cat, prov = names["commissioner"], names["category"], names["provider"]
    agreement = corrected_agreement(demo_store)
    pairs = [  # the API's address, and the CLI's command of the same view
        ("/api/agreements?status=open&as_of=2013-03-31",
         "agreements --status open --as-of 2013-03-31"),
        (f"/api/agreements?provider={prov}", f"agreements --provider {prov}"),
        (f"/api/agreements/{agreement}", f"audit {agreement}"),
        (f"/api/agreements/{agreement}/history", f"history {agreement}"),
        (f"/api/market?category={cat}&as_of=2015-03-31",
         f"market --category {cat} --as-of 2015-03-31 --all"),
        (f"/api/concentration?commissioner={com}", f"concentration --commissioner {com} --all"),
        (f"/api/mix?category={cat}&known_at=2016-01-01T00:00",
         f"diversity --category {cat} --known-at 2016-01-01T00:00 --all"),
        ("/api/entry-exit?year=2014/15", "diversity --part entry-exit --year 2014/15 --all"),
        ("/api/at-risk", "diversity --part at-risk --all"),
        (f"/api/flags?commissioner={com}", f"flags --commissioner {com}"),
        ("/api/pipeline?months=12&as_of=2016-01-01", "pipeline --months 12 --as-of 2016-01-01"),
        ("/api/continuity?as_of=2012-01-01", "continuity --as-of 2012-01-01 --all"),
        (f"/api/brief?commissioner={com}&months=9", f"brief --commissioner {com} --months 9"),
        ("/api/leads?as_of=2010-01-01", "leads --as-of 2010-01-01"),
        ("/api/commissioners", "commissioners"),
        ("/api/providers?known_at=2012-01-01T00:00", "providers --known-at 2012-01-01T00:00"),
        ("/api/categories", "categories"),
        ("/api/find?q=housing", "find housing"),
        ("/api/stats", "stats"),
    ]  # fmt: skip
    for url, args in pairs:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        assert r.json() == cli_json(demo_store, *args.split()), url


def test_tables_sort_on_the_server_and_the_csv_keeps_the_order(
    client: TestClient, names: dict[str, str]
) -> None:
    rows = client.get("/api/agreements").json()
    top = max(rows, key=lambda r: float(r["annual_value"]))
    html = client.get("/agreements?sort=annual_value&order=desc").text
    first_row = html.split("<tbody>")[1].split("</tr>")[0]
    assert top["agreement_id"] in first_row
    assert 'aria-sort="descending"' in html
    assert "sort=annual_value&amp;order=asc" in html  # the heading's link turns the order round
    body = client.get("/agreements.csv?sort=annual_value&order=desc").text
    values = [float(r["annual_value"]) for r in csv.DictReader(io.StringIO(body))]
    assert values == sorted(values, reverse=True) and len(values) == len(rows)
    brief = client.get("/brief", params={"commissioner": names["commissioner"],
                                         "sort": "holdings.days_left", "order": "asc"})  # fmt: skip
    assert brief.status_code == 200 and 'aria-sort="ascending"' in brief.text
    # a page shows 500 rows at a time, the next ones a link away; the CSV holds them all
    assert len(rows) > 500 and "rows 1 to 500 shown" in html
    second = client.get("/agreements?sort=annual_value&order=desc&page=2").text
    assert "rows 501 to " in second and "previous rows" in second


def test_read_only_every_other_method_is_405(client: TestClient) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for url in ("/", "/api/agreements", "/brief", "/static/site.css", "/nowhere"):
            r = client.request(method, url)
            assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD", (method, url)
    head = client.head("/flags")
    assert head.status_code == 200 and head.content == b""


def test_bad_parameters_are_one_line_400s_and_unknown_names_404s(
    client: TestClient, names: dict[str, str]
) -> None:
    cases = [
        ("/?as_of=2014-13-01", 400, "as_of"),
        ("/api/agreements?as_of=yesterday", 400, "as_of"),
        ("/flags?known_at=not-a-time", 400, "known_at"),
        ("/api/brief?lead=nobody@nowhere", 404, "nobody@nowhere"),
        ("/brief?lead=nobody@nowhere", 404, "nobody@nowhere"),
        ("/brief", 400, "lead"),
        ("/api/pipeline?months=abc", 400, "months"),
        ("/pipeline?months=-1", 400, "months"),
        ("/agreements?sort=nonsense", 400, "sort"),
        ("/agreements?page=0", 400, "page"),
        ("/agreements?status=asleep", 400, "status"),
        ("/api/market?year=2014", 400, "year"),
        ("/api/market?category=no-such-thing", 404, "no-such-thing"),
        ("/agreements/NO-SUCH-1", 404, "NO-SUCH-1"),
        ("/api/agreements/NO-SUCH-1/history", 404, "NO-SUCH-1"),
        ("/providers/nobody", 404, "nobody"),
        ("/brief.csv?lead=nobody", 404, "nobody"),
        ("/nowhere", 404, "/nowhere"),
        (f"/brief.csv?commissioner={names['commissioner']}&table=nope", 400, "table"),
    ]
    for url, status, fragment in cases:
        r = client.get(url)
        assert r.status_code == status, (url, r.status_code, r.text[:200])
        if url.startswith("/api/"):
            message = r.json()["detail"]
        elif ".csv" in url:
            message = r.text.strip()
        else:
            found = re.search(r'<p class="error" id="error" role="alert">(.*?)</p>', r.text, re.S)
            assert found, url
            message = found.group(1)
        assert "\n" not in message.strip() and fragment in message, (url, message)
        assert "Traceback" not in r.text


def test_every_value_is_escaped_and_the_csv_neutralised(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/evil.db"
    source = (Path(__file__).parent.parent / "examples" / "advocacy.jsonl").read_text()
    evil = source.replace('"title":"Advocacy"', '"title":"<script>alert(1)</script>=cmd|x"')
    assert evil != source
    (tmp_path / "evil.jsonl").write_text(evil)
    cledger("import", str(tmp_path / "evil.jsonl"), store=store)
    with TestClient(create_app(store)) as c:
        html = c.get("/agreements/g-001?as_of=2008-01-01").text
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        rows = c.get("/agreements.csv?as_of=2008-01-01").text
        assert "<script>alert(1)</script>=cmd|x" in rows  # text kept, it is not a formula
    trigger = source.replace('"title":"Advocacy"', '"title":"=HYPERLINK(\\"http://x\\")"')
    (tmp_path / "trigger.jsonl").write_text(trigger)
    store2 = f"sqlite:///{tmp_path}/trigger.db"
    cledger("import", str(tmp_path / "trigger.jsonl"), store=store2)
    with TestClient(create_app(store2)) as c:
        rows = list(csv.DictReader(io.StringIO(c.get("/agreements.csv").text)))
        assert rows[0]["title"].startswith("'="), rows[0]
        assert rows[0]["title"] == cli_json(store2, "agreements")[0]["title"].join(["'", ""])


def test_as_of_and_known_at_change_the_figures_as_the_data_says(
    client: TestClient, demo_store: str
) -> None:
    now = client.get("/api/glance").json()
    then = client.get("/api/glance?as_of=2010-04-01").json()
    assert now != then
    opened = [
        r for r in cli_json(demo_store, "agreements", "--as-of", "2010-04-01", "--status", "open")
    ]
    assert then["agreements_open"] == len(opened)
    html = client.get("/?as_of=2010-04-01").text
    link = '<a href="/agreements?as_of=2010-04-01&amp;status=open">'
    assert f'<dd id="agreements-open">{link}{len(opened):,}</a>' in html
    known = client.get("/api/glance?known_at=2012-01-01T00:00").json()
    assert (
        known["agreements_open"] + known["agreements_ended"]
        < now["agreements_open"] + now["agreements_ended"]
    )


def test_a_store_that_grows_is_seen_by_the_next_request(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/grows.db"
    lines = (Path(__file__).parent.parent / "examples" / "advocacy.jsonl").read_text().splitlines()
    (tmp_path / "first.jsonl").write_text("\n".join(lines[:3]) + "\n")
    cledger("import", str(tmp_path / "first.jsonl"), store=store)
    with TestClient(create_app(store)) as c:
        before = c.get("/api/stats").json()
        (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n")
        cledger("import", str(tmp_path / "all.jsonl"), store=store)
        time.sleep(1.1)  # the log is looked at once a second at most
        after = c.get("/api/stats").json()
        assert after[-1]["events"] > before[-1]["events"]
        assert after == cli_json(store, "stats")


def test_the_openapi_document_lists_the_views(client: TestClient) -> None:
    doc = client.get("/api/openapi.json").json()
    for path in ("/api/agreements", "/api/brief", "/api/market", "/api/flags", "/api/pipeline",
                 "/api/agreements/{agreement_id}", "/api/find"):  # fmt: skip
        assert "get" in doc["paths"][path], path
    assert not any(p.startswith("/brief") for p in doc["paths"])  # pages are not the API
    assert client.get("/api/docs").status_code == 404  # Swagger's page would need a CDN


def test_the_page_fetches_nothing_from_elsewhere(client: TestClient, names: dict[str, str]) -> None:
    html = client.get(f"/market?category={names['category']}").text
    assert "<svg" in html  # the charts are inline
    assert not re.search(r'(src|href)="(https?:)?//', html)
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in csp


def test_the_static_folder_is_the_only_one_served(client: TestClient) -> None:
    assert client.get("/static/site.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert shutil.which("true")  # nothing else


@pytest.mark.integration
def test_the_site_on_postgresql_answers_what_the_cli_answers(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    example = Path(__file__).parent.parent / "examples" / "advocacy.jsonl"
    cledger("import", str(example), store=pg_url)
    with TestClient(create_app(pg_url)) as c:
        for url, args in (
            ("/api/agreements?as_of=2008-01-01", "agreements --as-of 2008-01-01"),
            ("/api/agreements/g-001/history", "history g-001"),
            ("/api/brief?lead=j.smith&as_of=2008-01-01", "brief --lead j.smith --as-of 2008-01-01"),
        ):
            assert c.get(url).json() == cli_json(pg_url, *args.split()), url
        page = c.get("/agreements/g-001?as_of=2008-08-01")
        assert page.status_code == 200 and 'class="amendment' in page.text


@pytest.mark.slow
def test_serve_prepares_todays_home_and_market_as_it_starts(demo_store: str) -> None:
    """`cledger serve` computes today's home page and market (views and charts) in the
    background as it starts, says so on stderr, and then answers them from memory."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "infra", "serve", "--port", str(port)],
        env={**os.environ, "CLEDGER_STORE": demo_store},
        stderr=subprocess.PIPE,
        text=True,
    )
    import queue
    import threading

    said: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr
    threading.Thread(target=lambda: [said.put(line) for line in stderr], daemon=True).start()
    try:
        lines = [said.get(timeout=60) for _ in range(2)]
        assert lines[0].startswith(f"serving {demo_store} on http://127.0.0.1:{port}/"), lines
        assert re.fullmatch(r"today's views ready \(\d+\.\d s\)\n", lines[1]), lines
        for path in ("/", "/market"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                assert answer.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
