"""A lead's brief reads the lead's agreements and their lineages only (`projections.scope`):
every section must be what the brief of the whole ledger says, for leads who received whole
portfolios, handed theirs on, or hold agreements re-procured, merged or split, as of several
dates and as known at several times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import LedgerError
from infra.bootstrap import open_ledger
from infra.clocks import SimulatedClock
from infra.generator import build, generate
from projections.audit import audit
from projections.briefing import brief
from projections.frame import frame_from_facts
from projections.report import json_ready
from projections.scope import agreements_scope, commissioner_scope, lead_scope
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
    for commissioner in _commissioners(frame)[:5]:
        scoped = commissioner_scope(frame, commissioner)
        for known in (None, middle):
            for day in days:
                whole, part = _whole_and_scoped(
                    frame, scoped, day, known, commissioner=commissioner
                )
                assert _close(part, whole), (commissioner, day, known)
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


def _whole_and_scoped(
    frame: pl.LazyFrame, scoped: pl.LazyFrame, day: dt.date, known: Any, **who: str
) -> tuple[Any, Any]:
    """The brief as the CLI computes it (the frame, not a snapshot: it counts the handovers
    recorded after `known`), on the whole ledger and on the scope."""

    def one(source: pl.LazyFrame) -> Any:
        try:
            return json_ready(brief(source, day, known_at=known, **who))
        except LedgerError as err:
            return str(err)

    return one(frame), one(scoped)


def _commissioners(frame: pl.LazyFrame) -> list[str]:
    """Commissioners named by awards or restructures, the busiest first."""
    named = pl.concat(
        [
            frame.select(
                pl.col("commissioners")
                .list.eval(pl.element().struct.field("commissioner_id"))
                .explode()
                .alias("c")
            ),
            frame.select(pl.col("commissioner_id").alias("c")),
        ]
    ).drop_nulls()
    ranked = named.group_by("c").len().sort("len", "c", descending=True)
    return ranked.collect()["c"].to_list()


def test_commissioner_briefs_of_the_story_read_only_their_scope(tmp_path: Any) -> None:
    clock = SimulatedClock(hand_story.T0)
    ledger = open_ledger(f"sqlite:///{tmp_path}/s.db", clock=clock)
    hand_story.record_story(ledger, clock)
    frame = frame_from_facts(list(ledger.facts())).lazy()
    ledger.close()
    days = [dt.date(2013, 4, 1), hand_story.AS_OF, dt.date(2016, 1, 1)]
    compared = 0
    for commissioner in _commissioners(frame):
        scoped = commissioner_scope(frame, commissioner)
        for known in (None, hand_story.BETWEEN):
            for day in days:
                whole, part = _whole_and_scoped(
                    frame, scoped, day, known, commissioner=commissioner
                )
                assert _close(part, whole), (commissioner, day, known)
                compared += isinstance(whole, dict) and whole["scope"]["agreements"] > 0
    assert compared >= 4


@pytest.fixture(scope="module")
def england(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.LazyFrame, dt.datetime]:
    """A generated England sample, stored and read back as the CLI reads it (the frame cache),
    and a time halfway through its recording."""
    from infra.generator import write_england
    from infra.interop.native import import_file
    from infra.store.frame_cache import scan_event_frame

    folder = tmp_path_factory.mktemp("england")
    write_england(folder / "e.jsonl", seed=5, events=20_000, today=dt.date(2025, 9, 30))
    url = f"sqlite:///{folder}/e.db"
    ledger = open_ledger(url)
    import_file(ledger, folder / "e.jsonl", slice_size=2_000)  # recorded over several times
    ledger.close()
    frame = scan_event_frame(url).collect().lazy()
    times = frame.select(pl.col("recorded_at").unique().sort()).collect().to_series()
    assert times.len() > 1
    return frame, times[times.len() // 2]


ENGLAND_DAYS = [dt.date(2008, 3, 31), dt.date(2014, 6, 30), dt.date(2019, 3, 31)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_england_briefs_read_only_their_scope(
    england: tuple[pl.LazyFrame, dt.datetime], data: st.DataObject
) -> None:
    """Any of the busiest commissioners or leads of a generated England ledger, on any of
    several days, as known halfway through its recording or at the end: the brief on its scope
    is the brief on the whole ledger."""
    frame, middle = england
    kind = data.draw(st.sampled_from(["commissioner", "lead"]))
    names = _commissioners(frame) if kind == "commissioner" else _leads(frame, 60)
    who = data.draw(st.sampled_from(names[:60]))
    day = data.draw(st.sampled_from(ENGLAND_DAYS))
    known = data.draw(st.sampled_from([None, middle]))
    scoped = commissioner_scope(frame, who) if kind == "commissioner" else lead_scope(frame, who)
    whole, part = _whole_and_scoped(frame, scoped, day, known, **{kind: who})
    assert _close(part, whole), (kind, who, day, known)


def test_the_busiest_england_briefs_are_not_empty(
    england: tuple[pl.LazyFrame, dt.datetime],
) -> None:
    """The names the property draws from hold something (the comparison is not of two empty
    briefs): the busiest commissioner and lead, with their scopes a small part of the ledger."""
    frame, _ = england
    day = ENGLAND_DAYS[-1]
    total = frame.select(pl.len()).collect().item()
    for kind, who in (("commissioner", _commissioners(frame)[0]), ("lead", _leads(frame, 1)[0])):
        scoped = (
            commissioner_scope(frame, who) if kind == "commissioner" else lead_scope(frame, who)
        )
        assert scoped.select(pl.len()).collect().item() < total / 2
        whole, part = _whole_and_scoped(frame, scoped, day, None, **{kind: who})
        assert whole["scope"]["agreements"] > 0 and _close(part, whole)


def test_corrections_that_rewrite_commissioners_or_links_are_in_scope(tmp_path: Any) -> None:
    """An award corrected to another commissioner, and a re-procurement corrected to another
    successor: the new commissioner's scope holds the award (whose own row still names the old
    one), and the new successor's lead's scope its corrected predecessor; their briefs are the
    whole ledger's. A correction of a value only does not widen a commissioner's scope (the
    scope keeps the agreement a link first named too: a superset is never wrong)."""
    from tests.builders import award, basics, commissioner, ev

    clock = SimulatedClock(hand_story.T0)
    ledger = open_ledger(f"sqlite:///{tmp_path}/c.db", clock=clock)
    ledger.record(
        [
            *basics(),
            commissioner("council-b"),
            award("g-2", "2014-04-01", end="2019-03-31", event_id="award-g-2"),
            award("g-3", "2014-04-01", end="2019-03-31", event_id="award-g-3"),
            award("r-1", "2010-04-01", end="2013-03-31", lead="j.smith"),
            award("s-1", "2013-04-01", end="2018-03-31", lead="j.smith"),
            award("s-2", "2013-04-01", end="2018-03-31", lead="a.jones"),
            ev(
                "Reprocured",
                "2013-01-15",
                agreement_id="r-1",
                successor_agreement_id="s-1",
                incumbent_retained=True,
                event_id="reprocured-r-1",
            ),
            ev(
                "Corrected",
                "2014-05-01",
                corrects="award-g-2",
                agreement_id="g-2",
                fields={"commissioners": [{"commissioner_id": "council-b", "share": "1"}]},
                rationale="commissioned by the other council",
            ),
            ev(
                "Corrected",
                "2014-05-01",
                corrects="award-g-3",
                agreement_id="g-3",
                fields={"annual_value": "41000.00"},
                rationale="value mistyped",
            ),
            ev(
                "Corrected",
                "2014-05-01",
                corrects="reprocured-r-1",
                agreement_id="r-1",
                fields={"successor_agreement_id": "s-2"},
                rationale="re-procured as the other contract",
            ),
        ]
    )
    frame = frame_from_facts(list(ledger.facts())).lazy()
    ledger.close()
    day = dt.date(2015, 1, 1)
    cases = (
        ("commissioner", "council-b", {"g-2"}, "g-3", "holdings"),
        ("lead", "a.jones", {"s-2", "r-1"}, None, "lineage"),  # s-1: by the link as recorded
    )
    for kind, who, kept, left_out, section in cases:
        scoped = (
            commissioner_scope(frame, who) if kind == "commissioner" else lead_scope(frame, who)
        )
        awarded = scoped.filter(pl.col("type").is_in(["GrantAwarded", "ContractAwarded"]))
        ids = set(awarded.collect()["subject_id"].to_list())
        assert kept <= ids and left_out not in ids, (kind, ids)
        whole, part = _whole_and_scoped(frame, scoped, day, None, **{kind: who})
        assert whole[section], (kind, section)  # the corrected fact shows in the brief
        assert _close(part, whole)
