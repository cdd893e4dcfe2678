"""The handover brief: on the hand-built story (`tests/story.py`, on SQLite and PostgreSQL) with
figures worked out by hand, and through `cledger brief` on the generated conurbation for the
lead who inherited a PCT portfolio at the 2013 reorganisation."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from domain.errors import InvalidFieldError
from domain.register import build_register
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from infra.store.frame_cache import load_event_frame
from projections.briefing import SECTIONS, UnknownScopeError, brief, to_markdown
from projections.report import json_ready
from projections.standing import LINKING_CHANGES, add_months
from tests.story import AS_OF
from tests.test_continuity import frame, story_store  # noqa: F401 - module fixtures

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2025, 6, 1)  # the generator's "today", as in test_generator
REFORM = dt.date(2013, 4, 1)


def ids(df: pl.DataFrame) -> list[str]:
    return df["agreement_id"].to_list()


def test_brief_for_a_lead_whose_service_changed_hands(frame: pl.DataFrame) -> None:  # noqa: F811
    """j.smith on 1 Jul 2015 holds a-3 only (a-1, a-2 and u-1 have ended).
    Lineage: a-3's predecessors are a-2 (re-procured, incumbent mind-a replaced) and, before it,
    a-1 (re-procured, incumbent retained). Settlement: council-a 0.6 / ccg-y 0.4 from 1 Apr
    2014. Corrections: a-2's award value, corrected from 45,000 to 46,000 (a predecessor).
    Spend 2014/15 (the last complete year): 50,000 a year, all year: 50,000.00, third sector;
    by size, carers-b (small) 1 Apr-30 Sep 2014 = 183 days: 50,000 x 183/365 = 25,068.49, and
    big-c (large, after the novation) 1 Oct 2014-31 Mar 2015 = 182 days: 24,931.51.
    Nothing directly awarded, renewed, in limbo, due or flagged."""
    report = brief(frame, AS_OF, lead="j.smith")
    assert ids(report["holdings"]) == ["a-3"] == ids(report["continuity"])
    lineage = report["lineage"]
    assert lineage.select("predecessor_id", "depth", "provider_id", "link").rows() == [
        ("a-2", 1, "mind-a", "reprocured (incumbent replaced)"),
        ("a-1", 2, "mind-a", "reprocured (incumbent retained)"),
    ]
    settled = report["settlements"]
    assert settled.select("agreement_id", "held", "shares").rows() == [
        ("a-3", True, "council-a 0.6; ccg-y 0.4")
    ]
    fixes = report["corrections"]
    assert fixes.select("about_agreement_id", "type", "target_id").rows() == [
        ("a-2", "Corrected", "award-a-2")
    ]
    assert json.loads(fixes["fields"].item()) == {"annual_value": "46000.00"}
    spend = {
        (r["sector"], r["size_band"]): (round(r["spend"], 2), round(r["share"], 6))
        for r in report["spend_last_year"].to_dicts()
    }
    assert spend == {
        ("third_sector", None): (50000.0, 1.0),
        (None, "small"): (25068.49, round(183 / 365, 6)),
        (None, "large"): (24931.51, round(182 / 365, 6)),
    }
    assert set(report["spend_last_year"]["financial_year"]) == {"2014/15"}
    for empty in ("handovers", "non_competitive", "limbo", "due", "flags"):
        assert report[empty].is_empty(), empty


def test_brief_says_what_was_not_competed_and_why(frame: pl.DataFrame) -> None:  # noqa: F811
    """p.jones on 1 Jul 2015 holds c-1, d-1, d-2 and n-2 (n-1 was terminated).
    Without competition: d-1 (direct award, 4 rollovers), d-2 (direct award, 1 rollover), n-2
    (direct award, carrying on n-1's thread, no renewals); each with the award's and every
    renewal's rationale. c-1 was competed and never renewed. Due within 6 months: n-2 (ends 30
    Sep 2015). Flags: c-1 no competition for 6.08 years; d-1 four flags; d-2 value raised."""
    report = brief(frame, AS_OF, lead="p.jones")
    assert ids(report["holdings"]) == ["c-1", "d-1", "d-2", "n-2"]
    nc = {r["agreement_id"]: r for r in report["non_competitive"].to_dicts()}
    assert sorted(nc) == ["d-1", "d-2", "n-2"]
    assert nc["d-1"]["non_competitive_renewals"] == 4
    assert len(nc["d-1"]["rationales"]) == 5  # the award and four rollovers
    assert (
        "2011-03-01 RolledOver to 2012-03-31: not stated in the source" in nc["d-1"]["rationales"]
    )
    assert nc["n-2"]["rationales"] == [
        "2012-09-01 awarded by direct_award: only provider with the specialist skills"
    ]
    assert ids(report["due"]) == ["n-2"]
    assert report["lineage"].select("agreement_id", "predecessor_id", "link").rows() == [
        ("n-2", "n-1", "novated")
    ]
    assert sorted(set(ids(report["flags"]))) == ["c-1", "d-1", "d-2"]
    assert report["scope"]["agreements"] == 4
    assert report["scope"]["total_annual_value"] == 60000 + 130000 + 100001 + 210000


def test_brief_for_the_receiver_of_a_handover_and_for_an_organisation(
    frame: pl.DataFrame,  # noqa: F811
) -> None:
    """m.ross received o-4 from k.lee on 1 Apr 2013, when pct-x was abolished. The brief for
    pct-x itself, as of 1 Jul 2015, lists what still names it: o-1 (orphaned) and o-4 (handed
    over but never moved); o-2 was moved to council-a. Before the reform it had all three."""
    ross = brief(frame, AS_OF, lead="m.ross")
    assert ross["handovers"].select("from_lead", "agreements", "notes").rows() == [
        ("k.lee", 1, "files on the shared drive")
    ]
    assert ids(ross["holdings"]) == ["o-4"]
    pct = brief(frame, AS_OF, commissioner="pct-x")
    assert ids(pct["holdings"]) == ["o-1", "o-4"]
    assert pct["flags"].select("agreement_id", "flag").rows() == [("o-1", "orphaned")]
    assert ids(brief(frame, dt.date(2013, 3, 31), commissioner="pct-x")["holdings"]) == [
        "o-1",
        "o-2",
        "o-4",
    ]


def test_brief_scope_errors_and_renderings(frame: pl.DataFrame) -> None:  # noqa: F811
    with pytest.raises(InvalidFieldError):
        brief(frame, AS_OF)
    with pytest.raises(InvalidFieldError):
        brief(frame, AS_OF, lead="j.smith", commissioner="council-a")
    with pytest.raises(UnknownScopeError, match="lead 'j.smth'"):
        brief(frame, AS_OF, lead="j.smth")
    report = brief(frame, AS_OF, lead="p.jones")
    text = to_markdown(report)
    assert all(f"## {title}" in text for title in SECTIONS.values())
    data = json_ready(report)
    assert data["holdings"][0]["annual_value"] == "60000.00"
    assert data["scope"]["total_annual_value"] == "500001.00"
    assert data["due"][0]["end"] == "2015-09-30"
    assert set(data) == {"scope", *SECTIONS}


@pytest.fixture(scope="module")
def conurbation(tmp_path_factory: pytest.TempPathFactory) -> str:
    events = generate(seed=2013, today=TODAY)
    url = f"sqlite:///{tmp_path_factory.mktemp('conurbation')}/ledger.db"
    clock = SimulatedClock(events[0].recorded_at)
    ledger = open_ledger(url, clock=clock)
    build(ledger, clock, events)
    ledger.close()
    return url


@pytest.mark.slow
def test_cledger_brief_for_the_lead_who_inherited_a_pct_portfolio_in_2013(
    conurbation: str,
) -> None:
    """The CCG lead who took over the Stanmoor PCT portfolio on 1 Apr 2013, briefed that day.
    Each section is present; each is non-empty exactly where the demo holds such facts, found
    here independently of the projections (the domain's register and aggregates)."""
    events = load_event_frame(conurbation, cache=False).lazy()
    handed = (
        events.filter((pl.col("type") == "HandedOver") & (pl.col("effective_on") == REFORM))
        .with_columns(pl.col("data").str.json_path_match("$.to_commissioner").alias("to"))
        .filter(pl.col("to") == "stanmoor-ccg")
        .collect()
    )
    lead = json.loads(handed["data"].item())["to_lead"]
    env = {**os.environ, "CLEDGER_STORE": conurbation}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra",
            "brief",
            "--lead",
            lead,
            "--as-of",
            str(REFORM),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert set(report) == {"scope", *SECTIONS}

    ledger = open_ledger(conurbation)
    facts = list(ledger.facts())
    register = build_register(facts, as_of=REFORM)
    # the lead answers for what has not ended; holds only what is in force (not the lapsed)
    answers_for = {
        e.terms.agreement_id: e
        for e in register
        if e.responsible_lead == lead and e.status in ("active", "lapsed", "not_started")
    }
    assert sorted(a for a, e in answers_for.items() if e.status != "lapsed") == [
        r["agreement_id"] for r in report["holdings"]
    ]
    assert sorted(a for a, e in answers_for.items() if e.status == "lapsed") == [
        r["agreement_id"] for r in report["lapsed"]
    ]
    held = answers_for
    limbo = {
        aid
        for aid in held
        if any(
            t.event_type == "Extended"
            and (dt.date.fromisoformat(t.end) - dt.date.fromisoformat(t.start)).days < 365
            for t in held[aid].terms.terms
        )
        or held[aid].status == "lapsed"
    }
    horizon = add_months(REFORM, 6).isoformat()

    def decided_since_last_term(e: Any) -> bool:
        # a restructure is a decision only when it merges, splits or novates (DESIGN.md)
        decisions = [
            d
            for d in e.terms.decisions
            if d.type != "Restructured" or d.data["change"] in LINKING_CHANGES
        ]
        return bool(decisions) and decisions[-1].event_id != e.terms.terms[-1].event_id

    due = {
        aid
        for aid, e in held.items()
        if REFORM.isoformat() <= e.terms.end <= horizon and not decided_since_last_term(e)
    }
    payers = {"stanmoor-ccg", "stanmoor-pct"}
    settled = {
        f.event.data["agreement_id"]
        for f in facts
        if f.event.type == "FundingResponsibilityAgreed"
        and f.event.effective_on <= str(REFORM)
        and payers & {c["commissioner_id"] for c in f.event.data["commissioners"]}
    }
    corrected = {
        f.event.data.get("agreement_id")
        for f in facts
        if f.event.type in ("Corrected", "Rescinded")
    } & set(held)
    expected = {
        "handovers": True,
        "holdings": True,
        "continuity": True,
        "non_competitive": any(
            e.terms.award
            and e.terms.award.data["route"] not in ("competitive_tender", "grant_round")
            or len(e.terms.terms) > 1
            for e in held.values()
        ),
        "limbo": bool(limbo),
        "settlements": bool(settled),
        "corrections": bool(corrected),
        "spend_last_year": True,
        "due": bool(due),
    }
    for section, present in expected.items():
        assert bool(report[section]) == present, section
    assert {r["agreement_id"] for r in report["limbo"]} == limbo
    assert {r["agreement_id"] for r in report["due"]} == due
    assert report["flags"], "a PCT portfolio of 2005 contracts rolled over for years has flags"
    assert report["scope"]["lead"] == lead and report["scope"]["spend_year"] == "2012/13"
    ledger.close()
