"""Names are discoverable: `leads`, `commissioners`, `providers`, `categories`, `find`, and a
"did you mean" for an unknown id in any filter of any command. Through the real `cledger`
process, on SQLite and PostgreSQL. The ledger is `examples/advocacy.jsonl` (one grant of
council-a to mind-a, handed from j.smith to a.jones, expired 2008-09-30) plus one contract
recorded here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli_process import EXAMPLE, cledger, plain_error

CONTRACT = [
    "record",
    "ContractAwarded",
    "--event-id",
    "c2",
    "--effective-on",
    "2008-04-01",
    "--agreement-id",
    "c-002",
    "--kind",
    "contract",
    "--title",
    "Crisis café",
    "--service-category",
    "crisis_support",
    "--commissioners",
    '[{"commissioner_id":"council-a","share":"1"}]',
    "--providers",
    '[{"provider_id":"mind-a","role":"sole","share":"1"}]',
    "--annual-value",
    "1234567.8",
    "--start",
    "2008-04-01",
    "--end",
    "2011-03-31",
    "--route",
    "competitive_tender",
    "--funding-stream",
    "social_care",
    "--responsible-lead",
    "b.brown",
]


@pytest.fixture
def named_store(store_url: str) -> str:
    cledger("import", str(EXAMPLE), store=store_url)
    cledger(*CONTRACT, store=store_url)
    return store_url


def rows(*args: str, store: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(cledger(*args, "--format", "json", store=store).stdout)
    return out


@pytest.mark.slow
def test_the_names_with_what_they_hold(named_store: str) -> None:
    store = named_store
    as_of = ("--as-of", "2008-08-01")
    assert rows("leads", *as_of, store=store) == [
        # a.jones took j.smith's portfolio (g-001) on 2008-07-01
        {
            "lead": "a.jones",
            "commissioners": "council-a",
            "held": 1,
            "lapsed": 0,
            "ended": 0,
            "annual_value_held": "42500.00",
        },
        {
            "lead": "b.brown",
            "commissioners": "council-a",
            "held": 1,
            "lapsed": 0,
            "ended": 0,
            "annual_value_held": "1234567.80",
        },
        {
            "lead": "j.smith",
            "commissioners": None,
            "held": 0,
            "lapsed": 0,
            "ended": 0,
            "annual_value_held": "0.00",
        },
    ]
    [council] = rows("commissioners", *as_of, store=store)
    assert (council["commissioner_id"], council["name"], council["kind"]) == (
        "council-a",
        "Council A",
        "council",
    )
    assert (council["held"], council["annual_value_held"]) == (2, "1277067.80")
    # after g-001 expired (2008-09-30)
    [mind] = rows("providers", "--as-of", "2009-01-01", store=store)
    assert (mind["provider_id"], mind["held"], mind["ended"]) == ("mind-a", 1, 1)
    assert [c["service_category"] for c in rows("categories", store=store)] == [
        "advocacy",
        "crisis_support",
    ]
    # as known before the contract was recorded, only the example's names
    known = cledger("stats", store=store).stdout
    assert "ContractAwarded" in known


def test_find_across_ids_names_and_titles(named_store: str) -> None:
    found = rows("find", "CAFE", store=named_store)
    assert found[0] | {} == {
        "kind": "agreement",
        "id": "c-002",
        "label": "Crisis café",
        "matched_on": "title",
        "matched_text": "Crisis café",
        "rank": 4,  # a word of it starts with the text
    }
    assert rows("find", "g-001", store=named_store)[0]["rank"] == 1
    kinds = {r["kind"] for r in rows("find", "a", "--limit", "0", store=named_store)}
    assert kinds >= {"commissioner", "provider", "lead", "agreement", "category"}
    assert rows("find", "council", "--kind", "commissioner", store=named_store)[0]["id"] == (
        "council-a"
    )


UNKNOWN = [
    (["agreements", "--commissioner", "council-b"],
     "no commissioner 'council-b'; did you mean 'council-a'?"),
    (["agreements", "--provider", "mind-b"], "no provider 'mind-b'; did you mean 'mind-a'?"),
    (["market", "--category", "advocacyy"], "no category 'advocacyy'; did you mean 'advocacy'?"),
    (["concentration", "--commissioner", "Council A"],
     "no commissioner 'Council A'; did you mean 'council-a'?"),
    (["flags", "--lead", "a.jone"], "no lead 'a.jone'; did you mean 'a.jones'?"),
    (["continuity", "--agreement", "g-01"], "no agreement 'g-01'; did you mean 'g-001'?"),
    (["pipeline", "--category", "crisis"], "no category 'crisis'; did you mean 'crisis_support'?"),
    (["audit", "c-02"], "no agreement 'c-02'; did you mean 'c-002'?"),
    (["history", "c-02"], "no agreement 'c-02'; did you mean 'c-002'?"),
    (["brief", "--lead", "b.browne"], "no lead 'b.browne'; did you mean 'b.brown'?"),
    (["diversity", "--commissioner", "zzzzzz"],
     "no commissioner 'zzzzzz'; 'cledger commissioners' lists them"),
]  # fmt: skip


@pytest.mark.slow
def test_an_unknown_id_in_any_filter_names_the_closest(tmp_path: Any) -> None:
    store = f"sqlite:///{tmp_path}/l.db"
    cledger("import", str(EXAMPLE), store=store)
    cledger(*CONTRACT, store=store)
    for args, message in UNKNOWN:
        line = plain_error(cledger(*args, store=store, ok=False), message)
        assert line == f"error: {message}"


@pytest.mark.integration
def test_an_unknown_id_on_postgres(pg_url: str) -> None:
    cledger("import", str(EXAMPLE), store=pg_url)
    for args, message in UNKNOWN[:2]:
        plain_error(cledger(*args, store=pg_url, ok=False), message)


@pytest.mark.slow
def test_filters_keep_the_agreements_they_name(named_store: str) -> None:
    store = named_store
    as_of = ("--as-of", "2008-08-01")
    lead = rows("continuity", *as_of, "--lead", "b.brown", store=store)
    assert [r["agreement_id"] for r in lead] == ["c-002"]
    category = rows("continuity", *as_of, "--category", "advocacy", store=store)
    assert [r["agreement_id"] for r in category] == ["g-001"]
    both = rows("continuity", *as_of, "--commissioner", "council-a", store=store)
    assert sorted(r["agreement_id"] for r in both) == ["c-002", "g-001"]
    # g-001 ends 2008-09-30 with no decision: due within 6 months, and kept by its own filters
    due = rows("pipeline", *as_of, "--agreement", "g-001", store=store)
    assert [r["agreement_id"] for r in due] == ["g-001"]
    assert rows("pipeline", *as_of, "--lead", "b.brown", store=store) == []
    flags = rows("flags", *as_of, "--category", "crisis_support", store=store)
    assert {r["agreement_id"] for r in flags} <= {"c-002"}
