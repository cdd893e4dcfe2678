"""A lead's brief reads the lead's agreements and their lineages only (`projections.scope`):
every section must be what the brief of the whole ledger says, for leads who received whole
portfolios, handed theirs on, or hold agreements re-procured, merged or split, as of several
dates and as known at several times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from domain.errors import LedgerError
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from projections.audit import audit
from projections.briefing import brief
from projections.frame import frame_from_facts
from projections.report import json_ready
from projections.scope import agreements_scope, lead_scope
from projections.standing import Snapshot
from tests import story as hand_story


def _same_briefs(
    frame: pl.LazyFrame, leads: list[str], days: list[dt.date], times: list[Any]
) -> int:
    compared = 0
    for lead in leads:
        scoped = lead_scope(frame, lead)
        for known in times:
            for day in days:
                whole, part = (
                    _brief(Snapshot.of(events, day, known), lead) for events in (frame, scoped)
                )
                assert _close(part, whole), (lead, day, known)
                if isinstance(whole, dict):
                    compared += sum(len(v) for v in whole.values() if isinstance(v, list))
    return compared


def _brief(snap: Snapshot, lead: str) -> Any:
    """The brief as JSON, or the error a lead unknown on that day gets."""
    try:
        return json_ready(brief(snap, snap.as_of, lead=lead))
    except LedgerError as err:
        return str(err)


def _close(a: Any, b: Any) -> bool:
    """Equal, floats to the last few bits (spend summed over fewer rows, in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _leads(frame: pl.LazyFrame, n: int) -> list[str]:
    """Leads who received handovers first (whole portfolios), then those holding most."""
    received = frame.filter(pl.col("type") == "HandedOver").select(pl.col("to_lead").alias("lead"))
    named = frame.filter(pl.col("responsible_lead").is_not_null()).select(
        pl.col("responsible_lead").alias("lead")
    )
    ranked = (
        pl.concat([received, named]).group_by("lead").len().sort("len", "lead", descending=True)
    )
    return ranked.collect()["lead"].head(n).to_list()


@pytest.mark.slow
def test_briefs_of_the_conurbation_read_only_their_scope(tmp_path: Any) -> None:
    events = generate(seed=2013, today=dt.date(2025, 6, 1))
    clock = SimulatedClock(events[0].recorded_at)
    ledger = open_ledger(f"sqlite:///{tmp_path}/c.db", clock=clock)
    build(ledger, clock, events)
    facts = list(ledger.facts())
    ledger.close()
    frame = frame_from_facts(facts).lazy()
    middle = sorted(f.recorded_at for f in facts)[len(facts) // 2]
    days = [dt.date(2013, 4, 1), dt.date(2019, 3, 31)]
    assert _same_briefs(frame, _leads(frame, 5), days, [None, middle]) > 100
    assert _same_audits(frame, _agreements(frame, 6), days) >= 20


def _agreements(frame: pl.LazyFrame, n: int) -> list[str]:
    """Agreements with the longest histories, and some linked to others."""
    linked = frame.filter(pl.col("type").is_in(["Reprocured", "Restructured"])).select("subject_id")
    busy = frame.filter(pl.col("subject_id").is_not_null()).group_by("subject_id").len()
    busiest = busy.sort("len", "subject_id", descending=True).select("subject_id").head(n)
    picked = pl.concat([busiest, linked.unique().sort("subject_id").head(n)])
    return picked.collect()["subject_id"].to_list()


def _same_audits(frame: pl.LazyFrame, agreements: list[str], days: list[dt.date]) -> int:
    compared = 0
    for agreement in agreements:
        scoped = agreements_scope(frame, [agreement])
        for day in days:
            whole, part = (
                _audit(Snapshot.of(events, day), agreement) for events in (frame, scoped)
            )
            assert _close(part, whole), (agreement, day)
            compared += 1
    return compared


def _audit(snap: Snapshot, agreement: str) -> Any:
    try:
        return json_ready(audit(snap, agreement, snap.as_of))
    except LedgerError as err:
        return str(err)


def test_briefs_of_the_story_read_only_their_scope(tmp_path: Any) -> None:
    clock = SimulatedClock(hand_story.T0)
    ledger = open_ledger(f"sqlite:///{tmp_path}/s.db", clock=clock)
    hand_story.record_story(ledger, clock)
    frame = frame_from_facts(list(ledger.facts())).lazy()
    ledger.close()
    days = [dt.date(2013, 4, 1), hand_story.AS_OF, dt.date(2016, 1, 1)]
    leads = _leads(frame, 4)
    assert len(leads) >= 2
    assert _same_briefs(frame, leads, days, [None, hand_story.BETWEEN]) > 10
