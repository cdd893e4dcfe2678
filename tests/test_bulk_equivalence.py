"""The bulk path and the per-event path accept and refuse the same files with the same message,
and store the same rows when they accept (hypothesis, over generated files full of back-fills,
corrections, handovers, restructures, duplicates and broken rules; SQLite, and a smaller run on
PostgreSQL). Each store gets the same deterministic clock, so even recorded times agree."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import LedgerError
from infra.bootstrap import open_ledger
from infra.interop.native import import_file, import_file_per_event
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin

DAYS = ["2005-04-01", "2006-01-01", "2006-04-01", "2007-03-31", "2008-06-30", "2010-01-01"]
LATER = ["2008-03-31", "2010-03-31", "2012-03-31", "2015-03-31"]
COMMISSIONERS = ["c1", "c2"]
PROVIDERS = ["p1", "p2", "p3"]
AGREEMENTS = ["a1", "a2", "a3", "a4", "a5", "a6"]
LEADS = ["l1", "l2", "l3"]


def clock() -> Callable[[], dt.datetime]:
    ticks = itertools.count()
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return lambda: base + dt.timedelta(microseconds=7 * next(ticks))


day = st.sampled_from(DAYS)


@st.composite
def record(draw: st.DrawFn, n: int, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """One native record, valid or not, drawn from a small world so that events collide."""
    awards = sum(1 for r in earlier if r.get("type", "").endswith("Awarded"))
    kind = (
        "award"
        if awards < 2 and draw(st.integers(0, 4))
        else draw(
            st.sampled_from(
                ["org"] * 3
                + ["award"] * 6
                + ["life"] * 12
                + ["restructure"] * 3
                + ["handover"] * 4
                + ["correction"] * 4
                + ["repeat"] * 2
                + ["bad"]
            )
        )
    )
    base: dict[str, Any] = {
        "event_id": f"e{n}",
        "effective_on": draw(day),
        "recorded_by": "tester",
    }
    if kind == "repeat" and earlier:
        again = dict(draw(st.sampled_from(earlier)))
        if draw(st.booleans()):
            again["source"] = "changed"
        return again
    if kind == "bad":
        return {**base, "type": "Extended", "agreement_id": "a1", "rationale": "r"}  # no new_end
    if kind == "org":
        t = draw(
            st.sampled_from(
                [
                    "CommissionerEstablished",
                    "CommissionerRenamed",
                    "CommissionerMerged",
                    "CommissionerAbolished",
                    "ProviderRegistered",
                    "ProviderRegistered",
                    "ProviderRenamed",
                    "ProviderReclassified",
                    "ProviderClosed",
                    "ProviderMerged",
                ]
            )
        )
        if t.startswith("Commissioner"):
            cid = (
                "c3"
                if t == "CommissionerEstablished"
                else draw(st.sampled_from(["c3", "c3", "c3", *COMMISSIONERS]))
            )
            rec = {**base, "type": t, "commissioner_id": cid}
            if t == "CommissionerEstablished":
                rec.update(name=cid, kind="council")
            elif t == "CommissionerRenamed":
                rec["name"] = "New " + cid
            elif t == "CommissionerMerged":
                rec["into"] = draw(st.sampled_from(COMMISSIONERS))
            else:
                rec["successors"] = [
                    {"commissioner_id": draw(st.sampled_from(COMMISSIONERS)), "share": "1"}
                ]
            return rec
        pid = "p3" if t == "ProviderRegistered" else draw(st.sampled_from(["p3", "p3", *PROVIDERS]))
        rec = {**base, "type": t, "provider_id": pid}
        if t == "ProviderRegistered":
            rec.update(name=pid, sector="third_sector", size_band="small")
        elif t == "ProviderRenamed":
            rec["name"] = "New " + pid
        elif t == "ProviderMerged":
            rec["into"] = draw(st.sampled_from(PROVIDERS))
        elif t == "ProviderReclassified":
            rec["size_band"] = "large"
        return rec
    awarded = [r["agreement_id"] for r in earlier if r.get("type", "").endswith("Awarded")]
    if kind == "award":
        fresh = [a for a in AGREEMENTS if a not in awarded] or AGREEMENTS
        aid = draw(st.sampled_from(fresh if draw(st.integers(0, 9)) else AGREEMENTS))
    else:
        aid = draw(st.sampled_from(awarded if awarded and draw(st.integers(0, 9)) else AGREEMENTS))
    if kind == "award":
        start = draw(day)
        rec = {
            **base,
            "type": draw(st.sampled_from(["GrantAwarded", "ContractAwarded"])),
            "agreement_id": aid,
            "kind": "grant",
            "title": f"Agreement {aid}",
            "service_category": "advocacy",
            "commissioners": [
                {"commissioner_id": "c1" if draw(st.integers(0, 5)) else "c2", "share": "1"}
            ],
            "providers": draw(
                st.sampled_from(
                    [
                        [{"provider_id": "p1", "role": "sole", "share": "1"}],
                        [{"provider_id": "p2", "role": "sole", "share": "1"}],
                        [
                            {"provider_id": "p1", "role": "lead", "share": "1"},
                            {"provider_id": "p2", "role": "subcontractor"},
                        ],
                        [
                            {"provider_id": "p1", "role": "alliance_member", "share": "0.5"},
                            {"provider_id": "p2", "role": "alliance_member", "share": "0.5"},
                        ],
                    ]
                )
            ),
            "annual_value": "1000.00",
            "start": start,
            "end": draw(st.sampled_from(LATER if draw(st.integers(0, 9)) else DAYS)),
            "route": "grant_round",
            "funding_stream": "social_care",
        }
        lead = draw(st.sampled_from([*LEADS, "l1", None]))
        if lead:
            rec["responsible_lead"] = lead
        return rec
    if kind == "life":
        t = draw(
            st.sampled_from(
                ["RolledOver", "Extended", "Varied", "Reprocured"] * 3
                + ["Terminated", "Expired", "Decommissioned", "FundingResponsibilityAgreed"]
            )
        )
        rec = {**base, "type": t, "agreement_id": aid, "rationale": "because"}
        if t in ("RolledOver", "Extended"):
            rec["new_end"] = draw(st.sampled_from(LATER + ["2020-03-31", "2007-03-31"]))
        elif t == "Varied":
            rec["annual_value"] = "2000.00"
            if draw(st.booleans()):
                rec["applies_from"] = draw(day)
        elif t == "Reprocured":
            rec.update(
                successor_agreement_id=draw(st.sampled_from(awarded or AGREEMENTS)),
                incumbent_retained=False,
            )
        elif t == "FundingResponsibilityAgreed":
            rec.update(commissioners=[{"commissioner_id": "c2", "share": "1"}], notes="n")
        return rec
    if kind == "restructure":
        change = draw(
            st.sampled_from(
                [
                    "novated",
                    "member_joined",
                    "member_left",
                    "subcontract_added",
                    "subcontract_removed",
                    "moved_commissioner",
                    "merged_into",
                ]
            )
        )
        rec = {
            **base,
            "type": "Restructured",
            "agreement_id": aid,
            "change": change,
            "related_agreements": draw(
                st.lists(st.sampled_from(awarded or AGREEMENTS), max_size=1)
            ),
        }
        if change == "moved_commissioner":
            if draw(st.booleans()):
                rec["commissioner_id"] = draw(st.sampled_from(COMMISSIONERS))
        elif change != "merged_into" and draw(st.integers(0, 5)):
            rec["provider_id"] = draw(st.sampled_from(PROVIDERS[:2] * 3 + PROVIDERS))
        return rec
    if kind == "handover":
        named = [r["responsible_lead"] for r in earlier if r.get("responsible_lead")]
        from_lead = draw(st.sampled_from(named if named and draw(st.integers(0, 5)) else LEADS))
        to_lead = draw(st.sampled_from([x for x in LEADS if x != from_lead] + [from_lead]))
        rec = {
            **base,
            "type": "HandedOver",
            "from_lead": from_lead,
            "to_lead": to_lead,
            "rationale": "moved on",
        }
        if draw(st.booleans()):
            rec["portfolio_of"] = from_lead
        else:
            rec["agreements"] = draw(
                st.lists(st.sampled_from(awarded or AGREEMENTS), min_size=1, max_size=2)
            )
        if not draw(st.integers(0, 3)):
            rec["from_commissioner"] = draw(st.sampled_from(COMMISSIONERS))
        return rec
    # a correction or rescission of something earlier (or of nothing)
    target = draw(st.sampled_from([r["event_id"] for r in earlier] or ["nothing"]))
    if draw(st.booleans()):
        return {**base, "type": "Rescinded", "rescinds": target, "rationale": "mistake"}
    fields = draw(
        st.sampled_from(
            [
                {"new_end": "2010-01-01"},
                {"annual_value": "5.00"},
                {"effective_on": draw(day)},
                {"end": "2005-04-01"},
                {"name": "Renamed"},
            ]
        )
    )
    return {**base, "type": "Corrected", "corrects": target, "fields": fields, "rationale": "typo"}


@st.composite
def files(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int]:
    """Records (a world set up first, then anything) and how many lead the file (stored before
    the import, by the per-event path, in both stores)."""
    setup = [
        {
            "event_id": f"s-{c}",
            "type": "CommissionerEstablished",
            "effective_on": "2005-04-01",
            "recorded_by": "t",
            "commissioner_id": c,
            "name": c,
            "kind": "council",
        }
        for c in COMMISSIONERS
    ] + [
        {
            "event_id": f"s-{p}",
            "type": "ProviderRegistered",
            "effective_on": "2005-04-01",
            "recorded_by": "t",
            "provider_id": p,
            "name": p,
            "sector": "nhs",
            "size_band": "large",
        }
        for p in PROVIDERS[:2]
    ]
    records = list(setup)
    for n in range(draw(st.integers(1, draw(st.sampled_from([8, 20, 40]))))):
        records.append(draw(record(n, records)))
    return records, draw(st.sampled_from([0, len(setup), draw(st.integers(0, len(records) - 1))]))


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    lines = []
    for r in records:
        if r.get("type") == "Extended" and "new_end" not in r and r["event_id"].startswith("e"):
            lines.append(b'{"event_id": "broken", "type": ')  # malformed JSON too
        lines.append(orjson.dumps(r))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def rows(ledger: Any) -> tuple[list[Any], list[Any]]:
    """Every stored row and every index row, in the order the store holds them."""
    session = ledger.index.bulk_session()
    try:
        if hasattr(session, "events"):  # PostgreSQL
            from psycopg import sql

            stored = session.conn.execute(
                sql.SQL(
                    "SELECT replace(originator_id::text, '-', ''), originator_version, topic, "
                    "state, notification_id FROM {0} ORDER BY notification_id"
                ).format(session.events)
            ).fetchall()
            index = session.conn.execute(
                sql.SQL(
                    "SELECT event_id, replace(originator_id::text, '-', ''), type, digest "
                    "FROM {0} ORDER BY event_id"
                ).format(session.index)
            ).fetchall()
        else:
            stored = session.conn.execute(
                "SELECT originator_id, originator_version, topic, state, rowid "
                "FROM stored_events ORDER BY rowid"
            ).fetchall()
            index = session.conn.execute(
                "SELECT * FROM ledger_event_ids ORDER BY event_id"
            ).fetchall()
    finally:
        session.close()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in stored], [
        tuple(r) for r in index
    ]


def outcome(url: str, setup: Path | None, path: Path, bulk: bool) -> tuple[str | None, Any]:
    ledger = open_ledger(url, clock=clock())
    try:
        if setup is not None:
            with contextlib.suppress(LedgerError):
                import_file_per_event(ledger, setup)
        try:
            if bulk:
                import_file(ledger, path, slice_size=3)
            else:
                import_file_per_event(ledger, path)
            message = None
        except LedgerError as err:
            message = str(err)
        return message, rows(ledger)
    finally:
        ledger.close()


def same_outcome(
    urls: tuple[str, str], tmp: Path, records: list[dict[str, Any]], split: int
) -> None:
    setup = write(tmp / "setup.jsonl", records[:split]) if split else None
    path = write(tmp / "file.jsonl", records[split:])
    reference = outcome(urls[0], setup, path, bulk=False)
    bulk = outcome(urls[1], setup, path, bulk=True)
    assert bulk[0] == reference[0]
    assert bulk[1] == reference[1]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files())
@pytest.mark.slow
def test_bulk_and_per_event_agree_on_sqlite(tmp_path_factory: Any, drawn: Any) -> None:
    records, split = drawn
    tmp = tmp_path_factory.mktemp("eq")
    same_outcome((f"sqlite:///{tmp}/ref.db", f"sqlite:///{tmp}/bulk.db"), tmp, records, split)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files())
@pytest.mark.slow
@pytest.mark.integration
def test_bulk_and_per_event_agree_on_postgres(tmp_path_factory: Any, drawn: Any) -> None:
    records, split = drawn
    tmp = tmp_path_factory.mktemp("eq")
    names = [f"cledger_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with _admin() as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        urls = tuple(f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{n}" for n in names)
        same_outcome(urls, tmp, records, split)  # type: ignore[arg-type]
    finally:
        with _admin() as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
