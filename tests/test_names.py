"""The names a user types (`projections.names`): lists with holdings counted by hand, the
search across ids, names and titles, and "did you mean" for a typo. Pure: a frame built from
facts, no store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.catalogue import LedgerEvent
from domain.ledger import StoredFact
from projections import names
from projections.frame import frame_from_facts
from projections.standing import Snapshot
from tests.builders import award, commissioner, ev, provider

T0 = dt.datetime(2015, 9, 1, 9, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2015, 7, 1)


def sole(pid: str) -> list[dict[str, Any]]:
    return [{"provider_id": pid, "role": "sole", "share": "1"}]


def events() -> list[LedgerEvent]:
    return [
        commissioner("council-a"),
        commissioner("council-b", kind="council"),
        commissioner("pct-old", kind="pct"),
        ev("CommissionerRenamed", "2010-01-01", commissioner_id="council-a",
           name="Conseil Ärgerlich"),
        ev("CommissionerAbolished", "2013-04-01", commissioner_id="pct-old",
           successors=[{"commissioner_id": "council-b", "share": "1"}]),
        provider("mind-a"),
        provider("care-b", sector="private", size_band="large"),
        provider("idle-c"),
        ev("ProviderRenamed", "2011-01-01", provider_id="mind-a", name="Café Minds"),
        # held: active on 2015-07-01
        award("g-1", "2014-04-01", end="2016-03-31", value="10000.00", category="advocacy"),
        # ended: terminated
        award("g-2", "2012-04-01", end="2016-03-31", value="20000.00", category="advocacy"),
        ev("Terminated", "2014-01-01", agreement_id="g-2", rationale="closed"),
        # lapsed: past its end (2015-03-31) with no decision, within the grace period
        award("g-3", "2014-04-01", end="2015-03-31", value="30000.00", category="peer_support"),
        # held, two commissioners and two providers (lead and subcontractor), another lead
        award(
            "c-4",
            "2015-04-01",
            end="2018-03-31",
            value="1000.50",
            category="supported_housing",
            type_="ContractAwarded",
            kind="contract",
            route="competitive_tender",
            providers=[
                {"provider_id": "care-b", "role": "lead", "share": "1"},
                {"provider_id": "mind-a", "role": "subcontractor"},
            ],
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.5"},
                {"commissioner_id": "council-b", "share": "0.5"},
            ],
            lead="a.jones",
        ),
        # awarded after the as-of date: not yet in the lists as of 2015-07-01
        award("g-5", "2016-04-01", end="2017-03-31", category="crisis_support", lead="z.late"),
        ev("HandedOver", "2015-05-01", agreements=["g-1"], from_lead="j.smith",
           to_lead="k.new", rationale="j.smith moved on"),
    ]  # fmt: skip


def snapshot(as_of: dt.date = AS_OF, known_at: dt.datetime | None = None) -> Snapshot:
    facts = [
        StoredFact(n, e, T0 + n * dt.timedelta(hours=1), ("g-1",) if e.type == "HandedOver" else ())
        for n, e in enumerate(events(), start=1)
    ]
    return Snapshot.of(frame_from_facts(facts), as_of, known_at)


def by_key(df: pl.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in df.iter_rows(named=True)}


def test_leads_count_what_each_is_responsible_for() -> None:
    rows = by_key(names.leads(snapshot()), "lead")
    # j.smith handed g-1 to k.new; still responsible for g-2 (ended) and g-3 (lapsed)
    assert list(rows) == ["a.jones", "j.smith", "k.new"]
    assert rows["j.smith"] | {} == {
        "lead": "j.smith",
        "commissioners": None,
        "held": 0,
        "lapsed": 1,
        "ended": 1,
        "annual_value_held": 0.0,
    }
    assert rows["k.new"]["held"] == 1 and rows["k.new"]["annual_value_held"] == 10000.0
    assert rows["k.new"]["commissioners"] == "council-a"
    assert rows["a.jones"]["commissioners"] == "council-a; council-b"


def test_commissioners_with_names_kinds_successors_and_holdings() -> None:
    rows = by_key(names.commissioners(snapshot()), "commissioner_id")
    assert list(rows) == ["council-a", "council-b", "pct-old"]
    a = rows["council-a"]
    assert (a["name"], a["kind"], a["held"], a["lapsed"], a["ended"]) == (
        "Conseil Ärgerlich",
        "council",
        2,  # g-1 and c-4 (in part: counted whole)
        1,
        1,
    )
    assert a["annual_value_held"] == pytest.approx(11000.50)
    assert rows["pct-old"]["ended_on"] == dt.date(2013, 4, 1)
    assert rows["pct-old"]["succeeded_by"] == "council-b"
    assert rows["council-b"]["held"] == 1


def test_providers_count_subcontracts_and_list_the_idle() -> None:
    rows = by_key(names.providers(snapshot()), "provider_id")
    assert list(rows) == ["care-b", "idle-c", "mind-a"]
    assert rows["mind-a"]["name"] == "Café Minds"
    assert (rows["mind-a"]["held"], rows["mind-a"]["lapsed"], rows["mind-a"]["ended"]) == (2, 1, 1)
    assert (rows["idle-c"]["held"], rows["idle-c"]["annual_value_held"]) == (0, 0.0)
    assert (rows["care-b"]["sector"], rows["care-b"]["size_band"]) == ("private", "large")


def test_categories_with_parties_and_holdings() -> None:
    rows = by_key(names.categories(snapshot()), "service_category")
    assert list(rows) == ["advocacy", "peer_support", "supported_housing"]
    assert rows["advocacy"] | {} == {
        "service_category": "advocacy",
        "providers": 1,
        "commissioners": 1,
        "held": 1,
        "lapsed": 0,
        "ended": 1,
        "annual_value_held": 10000.0,
    }
    assert (rows["supported_housing"]["providers"], rows["supported_housing"]["commissioners"]) == (
        2,
        2,
    )


def test_lists_as_of_a_later_date_and_as_known_at_a_time() -> None:
    later = snapshot(dt.date(2016, 6, 1))
    assert "z.late" in names.leads(later)["lead"].to_list()
    assert "crisis_support" in names.categories(later)["service_category"].to_list()
    # as known two hours after the first fact: only council-a was recorded
    early = snapshot(known_at=T0 + dt.timedelta(hours=2, minutes=30))
    assert names.commissioners(early)["commissioner_id"].to_list() == ["council-a", "council-b"]
    assert names.leads(early).is_empty()


@pytest.mark.parametrize(
    "text,first",
    [
        ("g-1", ("agreement", "g-1", "id", 1)),
        ("G 1", ("agreement", "g-1", "id", 1)),
        ("cafe", ("provider", "mind-a", "name", 3)),
        ("mind a", ("provider", "mind-a", "id", 1)),
        ("MIND", ("provider", "mind-a", "id", 3)),
        ("idle", ("provider", "idle-c", "id", 3)),
        ("care b ltd", None),
        ("ARGERLICH", ("commissioner", "council-a", "name", 4)),
        ("supported housing", ("category", "supported_housing", "id", 1)),
        ("jones", ("lead", "a.jones", "id", 4)),
        ("Agreement c", ("agreement", "c-4", "title", 3)),
    ],
)
def test_find_ranks_the_best_match_first(
    text: str, first: tuple[str, str, str, int] | None
) -> None:
    found = names.find(snapshot(), text)
    assert list(found.columns) == list(names.MATCH_COLUMNS)
    if first is None:  # every word must match
        assert found.is_empty()
        return
    top = found.row(0, named=True)
    assert (top["kind"], top["id"], top["matched_on"], top["rank"]) == first


def test_find_gives_one_row_per_thing_and_nothing_for_nothing() -> None:
    found = names.find(snapshot(), "council")
    assert found.filter(pl.col("id") == "council-a").height == 1
    assert set(found["kind"]) == {"commissioner"}
    assert names.find(snapshot(), "no such thing").is_empty()
    assert names.find(snapshot(), "  -- ").is_empty()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdeéÉ ßxyz-_.", min_size=1, max_size=12))
def test_fold_agrees_with_itself_and_ignores_case_and_accents(text: str) -> None:
    folded = names.fold(text)
    assert names.fold(folded) == folded
    assert names.fold(text.upper()) == names.fold(text) or "ß" in text
    assert not any(c in folded for c in "éÉ-_.")


@pytest.mark.parametrize(
    "kind,value,message",
    [
        ("commissioner", "council-c", "no commissioner 'council-c'; did you mean"),
        ("commissioner", "Conseil Argerlich", "did you mean 'council-a'?"),
        ("provider", "mind-b", "no provider 'mind-b'; did you mean 'mind-a'"),
        ("category", "advocacyy", "no category 'advocacyy'; did you mean 'advocacy'?"),
        ("lead", "j.smyth", "no lead 'j.smyth'; did you mean 'j.smith'?"),
        ("agreement", "g-11", "no agreement 'g-11'; did you mean 'g-1'?"),
        ("provider", "qqqqqqqq", "no provider 'qqqqqqqq'; 'cledger providers' lists them"),
    ],
)
def test_an_unknown_id_names_the_closest(kind: str, value: str, message: str) -> None:
    with pytest.raises(names.UnknownNameError) as err:
        names.require(snapshot(), kind, value)
    assert message in str(err.value)


def test_known_ids_pass_whatever_the_date() -> None:
    snap = snapshot(dt.date(2000, 1, 1))  # before anything took effect
    for kind, value in [
        ("commissioner", "pct-old"),
        ("provider", "idle-c"),
        ("lead", "z.late"),
        ("category", "crisis_support"),
        ("agreement", "g-5"),
    ]:
        names.require(snap, kind, value)
    names.require(snap, "agreement", None)


def test_closest() -> None:
    assert names.closest(["stanmoor-mbc", "brayford-mbc", "kv-icb"], "stanmor-mbc") == [
        "stanmoor-mbc"
    ]
    assert names.closest(["Zoë", "Zara"], "zoe", n=1) == ["Zoë"]
    assert names.closest([], "x") == []
    assert names.closest(["alpha", "beta"], "qqqqqq") == []
