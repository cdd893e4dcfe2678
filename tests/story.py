"""A small hand-built ledger for the continuity, pipeline, flag, audit and brief tests.

Every figure the tests expect is worked out by hand in their docstrings from this story.

Commissioners: council-a (council, 2005), pct-x (pct, 2005; abolished 2013-04-01, successor
council-a), ccg-y (ccg, from 2013-04-01).
Providers: mind-a (third_sector medium), carers-b (third_sector small; merged into big-c
2014-10-01), big-c (third_sector large), trust-d (nhs major), new-e (private small).

A lineage across two re-procurements and a provider merger (lead j.smith):
  a-1  grant_round, mind-a, 2006-04-01..2007-03-31 at 40,000; RolledOver (2007-03-01) to
       2008-03-31; RolledOver (2008-03-01) to 2009-03-31; Extended (2009-03-10) to 2009-09-30;
       Extended (2009-09-15) to 2010-03-31; Extended (2010-03-20) to 2010-06-30;
       Reprocured (2010-05-20) -> a-2, incumbent retained; Expired 2010-07-01.
  a-2  competitive_tender, mind-a, 2010-07-01..2013-06-30 at 45,000 (corrected to 46,000);
       Extended (2013-06-01) to 2013-09-30; Reprocured (2013-08-15) -> a-3, incumbent replaced;
       Expired 2013-10-01.
  a-3  competitive_tender, carers-b, 2013-10-01..2016-09-30 at 50,000; settlement (2014-03-01,
       from 2014-04-01) council-a 0.6 / ccg-y 0.4; Restructured novated to big-c (2014-10-01),
       the day carers-b merged into big-c.
A novation to a new agreement (lead p.jones):
  n-1  direct_award, trust-d, 2011-04-01..2014-03-31 at 200,000; Restructured novated to new-e
       with related_agreements [n-2] (2012-10-01); Terminated 2012-10-01.
  n-2  direct_award, new-e, 2012-10-01..2015-09-30 at 210,000.
Non-competitive and long-running (lead p.jones):
  d-1  direct_award, trust-d, 2008-04-01..2009-03-31 at 100,000; RolledOver (2009-03-01) to
       2010-03-31 at 110,000; (2010-03-01) to 2011-03-31 at 120,000; (2011-03-01) to
       2012-03-31 at 130,000 with rationale "not stated in the source"; (2012-03-01) to
       2016-03-31.
  d-2  direct_award, mind-a, 2012-04-01..2013-03-31 at 80,000; RolledOver (2013-03-01) to
       2016-03-31 at 100,000 (exactly 25 % more; corrected later to 100,001.00, see below).
  c-1  competitive_tender, mind-a, 2009-06-01..2016-05-31 at 60,000.
Responsibility (pct-x abolished 2013-04-01):
  o-1  pct-x, trust-d, lead k.lee, 2012-04-01..2016-03-31: neither moved nor handed over.
  o-2  pct-x, lead k.lee, same terms: Restructured moved_commissioner to council-a 2013-04-01.
  o-3  council-a, no responsible lead, 2012-04-01..2016-03-31.
  o-4  pct-x, lead k.lee, same terms: HandedOver k.lee -> m.ross 2013-04-01.
Mistakes and gaps:
  r-1  competitive_tender, new-e, awarded 2014-01-10, Rescinded 2014-01-11.
  u-1  route unknown, mind-a, lead j.smith, 2007-04-01..2008-03-31; Expired only 2008-06-30.
The pipeline (lead r.patel; all mind-a, council-a, competitive_tender, 10,000):
  p-1  2014-07-01..2015-07-01 (ends on as_of 2015-07-01).
  p-2  2015-01-01..2016-01-01 (ends on the 6-month horizon).
  p-3  2015-01-02..2016-01-02 (a day past it).
  p-4  ..2015-12-31, Reprocured (2015-06-01) -> p-5 (2016-01-01..2018-12-31).
  p-6  ..2015-10-31, Terminated 2015-06-15.
  p-7  ..2015-05-31, Extended (2015-05-01) to 2015-11-30.
  p-8  ..2015-08-31, Extended (2015-08-15, after as_of) to 2015-12-31.
  p-9  ..2015-09-30, Restructured merged_into [p-2] (2015-05-01).

Everything above is recorded at T0 (2015-09-01). At T1 (2015-10-01) two late records arrive:
an Extended of p-1 (effective 2015-06-20) to 2015-12-31, back-filled, and a Corrected of d-2's
rollover value to 100,001.00.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.catalogue import LedgerEvent
from domain.ledger import Ledger
from infra.clocks import SimulatedClock
from tests.builders import award, commissioner, ev, provider

T0 = dt.datetime(2015, 9, 1, 9, 0, tzinfo=dt.UTC)
T1 = dt.datetime(2015, 10, 1, 9, 0, tzinfo=dt.UTC)
BETWEEN = dt.datetime(2015, 9, 15, 12, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2015, 7, 1)


def sole(pid: str) -> list[dict[str, Any]]:
    return [{"provider_id": pid, "role": "sole", "share": "1"}]


def by(cid: str) -> list[dict[str, Any]]:
    return [{"commissioner_id": cid, "share": "1"}]


def _renew(type_: str, on: str, aid: str, new_end: str, why: str, **kw: Any) -> LedgerEvent:
    return ev(type_, on, agreement_id=aid, new_end=new_end, rationale=why, **kw)


def organisations() -> list[LedgerEvent]:
    return [
        commissioner("council-a"),
        commissioner("pct-x", kind="pct"),
        provider("mind-a"),
        provider("carers-b", size_band="small"),
        provider("big-c", size_band="large"),
        provider("trust-d", sector="nhs", size_band="major"),
        provider("new-e", sector="private", size_band="small"),
    ]


def lineage_a() -> list[LedgerEvent]:
    extend = "extended while the review completes"
    return [
        award("a-1", "2006-03-01", start="2006-04-01", end="2007-03-31", value="40000.00"),
        _renew("RolledOver", "2007-03-01", "a-1", "2008-03-31", "performing well"),
        _renew("RolledOver", "2008-03-01", "a-1", "2009-03-31", "no capacity to tender"),
        _renew("Extended", "2009-03-10", "a-1", "2009-09-30", extend),
        _renew("Extended", "2009-09-15", "a-1", "2010-03-31", extend),
        _renew("Extended", "2010-03-20", "a-1", "2010-06-30", extend),
        award(
            "a-2",
            "2010-05-20",
            start="2010-07-01",
            end="2013-06-30",
            value="45000.00",
            route="competitive_tender",
            type_="ContractAwarded",
            kind="contract",
            event_id="award-a-2",
        ),
        ev(
            "Reprocured",
            "2010-05-20",
            agreement_id="a-1",
            successor_agreement_id="a-2",
            incumbent_retained=True,
        ),
        ev("Expired", "2010-07-01", agreement_id="a-1"),
        ev(
            "Corrected",
            "2011-01-10",
            corrects="award-a-2",
            agreement_id="a-2",
            fields={"annual_value": "46000.00"},
            rationale="value mistyped; the contract says 46,000",
        ),
        _renew("Extended", "2013-06-01", "a-2", "2013-09-30", "bridging until the new contract"),
        award(
            "a-3",
            "2013-08-15",
            start="2013-10-01",
            end="2016-09-30",
            value="50000.00",
            route="competitive_tender",
            type_="ContractAwarded",
            kind="contract",
            providers=sole("carers-b"),
        ),
        ev(
            "Reprocured",
            "2013-08-15",
            agreement_id="a-2",
            successor_agreement_id="a-3",
            incumbent_retained=False,
        ),
        ev("Expired", "2013-10-01", agreement_id="a-2"),
        award("u-1", "2007-03-01", start="2007-04-01", end="2008-03-31", route="unknown"),
        ev("Expired", "2008-06-30", agreement_id="u-1"),
    ]


def reform_2013() -> list[LedgerEvent]:
    pct = {
        "commissioners": by("pct-x"),
        "providers": sole("trust-d"),
        "lead": "k.lee",
        "start": "2012-04-01",
        "end": "2016-03-31",
        "route": "competitive_tender",
    }
    return [
        award("o-1", "2012-03-01", **pct),  # type: ignore[arg-type]
        award("o-2", "2012-03-01", **pct),  # type: ignore[arg-type]
        award("o-3", "2012-03-01", start="2012-04-01", end="2016-03-31", lead=None),
        award("o-4", "2012-03-01", **pct),  # type: ignore[arg-type]
        commissioner("ccg-y", on="2013-04-01", kind="ccg"),
        ev(
            "Restructured",
            "2013-04-01",
            agreement_id="o-2",
            change="moved_commissioner",
            related_agreements=[],
            commissioner_id="council-a",
            rationale="PCT abolished",
        ),
        ev(
            "HandedOver",
            "2013-04-01",
            agreements=["o-4"],
            from_lead="k.lee",
            to_lead="m.ross",
            rationale="PCT abolished; portfolio to the council",
            notes="files on the shared drive",
        ),
        ev(
            "CommissionerAbolished",
            "2013-04-01",
            commissioner_id="pct-x",
            successors=[{"commissioner_id": "council-a", "share": "1"}],
        ),
        ev(
            "FundingResponsibilityAgreed",
            "2014-03-01",
            agreement_id="a-3",
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.6"},
                {"commissioner_id": "ccg-y", "share": "0.4"},
            ],
            notes="the CCG pays 40% for the clinical element",
            applies_from="2014-04-01",
        ),
        ev(
            "Restructured",
            "2014-10-01",
            agreement_id="a-3",
            change="novated",
            related_agreements=[],
            provider_id="big-c",
            rationale="carers-b merged into big-c",
        ),
        ev("ProviderMerged", "2014-10-01", provider_id="carers-b", into="big-c"),
    ]


def non_competitive() -> list[LedgerEvent]:
    jones: dict[str, Any] = {"lead": "p.jones", "type_": "ContractAwarded", "kind": "contract"}
    return [
        award(
            "n-1",
            "2011-03-01",
            start="2011-04-01",
            end="2014-03-31",
            value="200000.00",
            route="direct_award",
            providers=sole("trust-d"),
            **jones,
        ),
        award(
            "n-2",
            "2012-09-01",
            start="2012-10-01",
            end="2015-09-30",
            value="210000.00",
            route="direct_award",
            providers=sole("new-e"),
            **jones,
        ),
        ev(
            "Restructured",
            "2012-10-01",
            agreement_id="n-1",
            change="novated",
            related_agreements=["n-2"],
            provider_id="new-e",
            rationale="service novated",
        ),
        ev("Terminated", "2012-10-01", agreement_id="n-1", rationale="replaced by n-2"),
        award(
            "d-1",
            "2008-03-01",
            start="2008-04-01",
            end="2009-03-31",
            value="100000.00",
            route="direct_award",
            providers=sole("trust-d"),
            **jones,
        ),
        _renew(
            "RolledOver",
            "2009-03-01",
            "d-1",
            "2010-03-31",
            "tariff uplift",
            annual_value="110000.00",
        ),
        _renew(
            "RolledOver",
            "2010-03-01",
            "d-1",
            "2011-03-31",
            "tariff uplift",
            annual_value="120000.00",
        ),
        _renew(
            "RolledOver",
            "2011-03-01",
            "d-1",
            "2012-03-31",
            "not stated in the source",
            annual_value="130000.00",
            event_id="roll-d-1-3",
        ),
        _renew("RolledOver", "2012-03-01", "d-1", "2016-03-31", "no alternative provider"),
        award(
            "d-2",
            "2012-03-01",
            start="2012-04-01",
            end="2013-03-31",
            value="80000.00",
            route="direct_award",
            **jones,
        ),
        _renew(
            "RolledOver",
            "2013-03-01",
            "d-2",
            "2016-03-31",
            "uplift agreed",
            annual_value="100000.00",
            event_id="roll-d-2",
        ),
        award(
            "c-1",
            "2009-05-01",
            start="2009-06-01",
            end="2016-05-31",
            value="60000.00",
            route="competitive_tender",
            **jones,
        ),
        award(
            "r-1",
            "2014-01-10",
            start="2014-04-01",
            end="2015-03-31",
            route="competitive_tender",
            providers=sole("new-e"),
            event_id="award-r-1",
        ),
        ev(
            "Rescinded",
            "2014-01-11",
            rescinds="award-r-1",
            agreement_id="r-1",
            rationale="letter sent to the wrong bidder",
        ),
    ]


def pipeline_cases() -> list[LedgerEvent]:
    def p(aid: str, start: str, end: str) -> LedgerEvent:
        return award(
            aid,
            "2014-01-15",
            start=start,
            end=end,
            value="10000.00",
            route="competitive_tender",
            lead="r.patel",
        )

    return [
        p("p-1", "2014-07-01", "2015-07-01"),
        p("p-2", "2015-01-01", "2016-01-01"),
        p("p-3", "2015-01-02", "2016-01-02"),
        p("p-4", "2015-01-01", "2015-12-31"),
        p("p-5", "2016-01-01", "2018-12-31"),
        ev(
            "Reprocured",
            "2015-06-01",
            agreement_id="p-4",
            successor_agreement_id="p-5",
            incumbent_retained=True,
        ),
        p("p-6", "2015-01-01", "2015-10-31"),
        ev("Terminated", "2015-06-15", agreement_id="p-6", rationale="service closed"),
        p("p-7", "2014-06-01", "2015-05-31"),
        _renew("Extended", "2015-05-01", "p-7", "2015-11-30", "awaiting the review"),
        p("p-8", "2014-09-01", "2015-08-31"),
        _renew("Extended", "2015-08-15", "p-8", "2015-12-31", "awaiting the review"),
        p("p-9", "2014-10-01", "2015-09-30"),
        ev(
            "Restructured",
            "2015-05-01",
            agreement_id="p-9",
            change="merged_into",
            related_agreements=["p-2"],
            rationale="merged into the larger contract",
        ),
    ]


def late_records() -> list[LedgerEvent]:
    return [
        _renew("Extended", "2015-06-20", "p-1", "2015-12-31", "extended while re-tendering"),
        ev(
            "Corrected",
            "2015-09-20",
            corrects="roll-d-2",
            agreement_id="d-2",
            fields={"annual_value": "100001.00"},
            rationale="the letter says 100,001",
        ),
    ]


def record_story(ledger: Ledger, clock: SimulatedClock) -> None:
    clock.set(T0)
    ledger.record(
        [*organisations(), *lineage_a(), *reform_2013(), *non_competitive(), *pipeline_cases()]
    )
    clock.set(T1)
    ledger.record(late_records())
