"""Every event type of the native format, recorded on SQLite and PostgreSQL and read back."""

from __future__ import annotations

import datetime as dt

from domain.catalogue import CATALOGUE
from domain.ledger import Ledger
from domain.register import build_register
from infra.clocks import SimulatedClock
from tests.builders import award, commissioner, ev, provider

SHARE = [{"commissioner_id": "council-a", "share": "1"}]


def story() -> list:
    """A council, a PCT, providers, and agreements that go through every kind of event."""
    return [
        commissioner("council-a"),
        commissioner("pct-a", kind="pct"),
        commissioner("ccg-a", on="2013-04-01", kind="ccg"),
        ev(
            "CommissionerRenamed",
            "2009-01-01",
            commissioner_id="council-a",
            name="Council A (Metropolitan Borough)",
        ),
        provider("mind-a"),
        provider("rethink", size_band="large"),
        provider("peer-co", size_band="micro"),
        provider("nhs-ft", sector="nhs", size_band="major", ods_code="RXX"),
        ev("ProviderRenamed", "2010-01-01", provider_id="rethink", name="Rethink Mental Illness"),
        ev("ProviderReclassified", "2011-01-01", provider_id="peer-co", size_band="small"),
        award(
            "al-1",
            "2012-04-01",
            end="2013-03-31",
            kind="alliance",
            type_="ContractAwarded",
            value="332000.00",
            route="competitive_tender",
            category="recovery_services",
            providers=[
                {"provider_id": "mind-a", "role": "alliance_member", "share": "0.5"},
                {"provider_id": "rethink", "role": "alliance_member", "share": "0.5"},
            ],
        ),
        ev(
            "Restructured",
            "2012-10-01",
            agreement_id="al-1",
            change="member_joined",
            related_agreements=[],
            provider_id="peer-co",
        ),
        ev(
            "RolledOver",
            "2013-02-01",
            agreement_id="al-1",
            new_end="2014-03-31",
            annual_value="340000.00",
            rationale="alliance performing",
        ),
        ev(
            "Extended",
            "2014-02-01",
            agreement_id="al-1",
            new_end="2014-06-30",
            rationale="tender delayed",
        ),
        ev(
            "Varied",
            "2014-03-01",
            agreement_id="al-1",
            annual_value="350000.00",
            applies_from="2014-04-01",
            scope="adds peer support",
            event_id="var-wrong",
        ),
        ev(
            "Corrected",
            "2014-03-05",
            corrects="var-wrong",
            agreement_id="al-1",
            fields={"annual_value": "345000.00"},
            rationale="typo in the letter",
        ),
        award(
            "al-2",
            "2014-05-01",
            start="2014-07-01",
            end="2017-06-30",
            kind="alliance",
            type_="ContractAwarded",
            route="competitive_tender",
            category="recovery_services",
            providers=[
                {"provider_id": "mind-a", "role": "alliance_member", "share": "0.5"},
                {"provider_id": "rethink", "role": "alliance_member", "share": "0.5"},
            ],
        ),
        ev(
            "Reprocured",
            "2014-05-01",
            agreement_id="al-1",
            successor_agreement_id="al-2",
            incumbent_retained=True,
        ),
        ev("Expired", "2014-07-01", agreement_id="al-1"),
        award(
            "pool-1",
            "2010-04-01",
            end="2015-03-31",
            type_="ContractAwarded",
            kind="contract",
            route="direct_award",
            rationale="sole local provider",
            category="crisis_support",
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.4"},
                {"commissioner_id": "pct-a", "share": "0.6"},
            ],
            providers=[{"provider_id": "nhs-ft", "role": "sole", "share": "1"}],
            funding_stream="pooled",
        ),
        ev(
            "FundingResponsibilityAgreed",
            "2011-01-01",
            agreement_id="pool-1",
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.5"},
                {"commissioner_id": "pct-a", "share": "0.5"},
            ],
            notes="council pays half after the 2010 review",
            applies_from="2011-04-01",
        ),
        ev(
            "CommissionerAbolished",
            "2013-04-01",
            commissioner_id="pct-a",
            successors=[{"commissioner_id": "ccg-a", "share": "1"}],
        ),
        ev(
            "Restructured",
            "2013-04-01",
            agreement_id="pool-1",
            change="moved_commissioner",
            related_agreements=[],
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.5"},
                {"commissioner_id": "ccg-a", "share": "0.5"},
            ],
        ),
        ev(
            "HandedOver",
            "2013-04-01",
            portfolio_of="j.smith",
            from_lead="j.smith",
            to_lead="ccg.lead",
            from_commissioner="pct-a",
            to_commissioner="ccg-a",
            rationale="PCT abolished",
            notes="the 2011 settlement on who pays stands",
        ),
        ev("Terminated", "2014-09-30", agreement_id="pool-1", rationale="service redesigned"),
        award(
            "g-9",
            "2008-04-01",
            end="2009-03-31",
            commissioners=SHARE,
            lead=None,
            event_id="letter-in-error",
        ),
        ev(
            "Rescinded",
            "2008-04-02",
            rescinds="letter-in-error",
            agreement_id="g-9",
            rationale="award letter sent in error",
        ),
        award("g-10", "2008-04-01", end="2012-03-31", lead=None),
        ev("Decommissioned", "2011-03-31", agreement_id="g-10", rationale="no longer needed"),
        ev("ProviderMerged", "2016-01-01", provider_id="peer-co", into="mind-a"),
        ev("ProviderClosed", "2017-01-01", provider_id="rethink"),
        ev("CommissionerMerged", "2018-04-01", commissioner_id="ccg-a", into="council-a"),
    ]


def test_every_event_type_is_recorded_and_read_back(ledger: Ledger) -> None:
    events = story()
    assert {e.type for e in events} == set(CATALOGUE)
    ledger.record(events)
    stored = list(ledger.facts())
    assert [f.event for f in stored] == events
    counts = ledger.recorder.count_by_topic()  # type: ignore[attr-defined]
    assert {t.rsplit(".", 1)[-1] for t in counts} >= set(CATALOGUE)
    rows = {e.terms.agreement_id: e for e in build_register(stored, as_of=dt.date(2014, 5, 1))}
    assert rows["al-1"].annual_value == "345000.00"  # corrected, from 2014-04-01
    assert rows["al-1"].status == "active" and rows["al-1"].terms.end == "2014-06-30"
    assert [p["provider_id"] for p in rows["al-1"].terms.providers] == [
        "mind-a",
        "rethink",
        "peer-co",
    ]
    assert rows["pool-1"].responsible_lead == "ccg.lead"
    assert rows["g-9"].status == "rescinded"


def test_known_at_sees_what_was_recorded_by_then(store_url: str) -> None:
    from infra.bootstrap import open_ledger

    clock = SimulatedClock(dt.datetime(2014, 3, 1))
    ledger = open_ledger(store_url, clock=clock)
    events = story()
    wrong = next(i for i, e in enumerate(events) if e.event_id == "var-wrong")
    ledger.record(events[: wrong + 1])
    clock.set(dt.datetime(2014, 3, 10))
    ledger.record(events[wrong + 1 :])
    day = dt.date(2014, 5, 1)

    def value(known: dt.datetime | None) -> str:
        rows = build_register(ledger.facts(), as_of=day, known_at=known)
        return next(r.annual_value for r in rows if r.terms.agreement_id == "al-1")

    assert value(dt.datetime(2014, 3, 2, tzinfo=dt.UTC)) == "350000.00"  # before the fix
    assert value(None) == "345000.00"
