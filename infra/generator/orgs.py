"""Records about organisations: commissioners established, renamed, merged, abolished; providers
registered, renamed, reclassified, merged, closed.

Why: each writer checks the model first (the organisation is active, a successor exists), so a
story that would break the ledger's rules fails here, loudly, at generation time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from infra.generator.formats import commissioner_list
from infra.generator.model import Commissioner, Provider
from infra.generator.world import World

ADMIN = "ledger.admin@kelham.gov.uk"


def _live(w: World, kind: str, ref: str, day: dt.date) -> None:
    org = w.commissioners.get(ref) if kind == "c" else w.providers.get(ref)
    if org is None or not org.active(day):
        raise AssertionError(f"generator bug: {kind}:{ref} is not active on {day}")


def establish(
    w: World, day: dt.date, c: Commissioner, *, by: str = ADMIN, source: str | None = None
) -> None:
    w.commissioners[c.id] = c
    w.journal.write(
        "CommissionerEstablished",
        day,
        by,
        {"commissioner_id": c.id, "name": c.name, "kind": c.kind},
        source=source,
        touch=[f"c:{c.id}"],
    )


def rename_commissioner(
    w: World, day: dt.date, cid: str, name: str, *, by: str = ADMIN, source: str | None = None
) -> None:
    _live(w, "c", cid, day)
    w.commissioners[cid].name = name
    w.journal.write(
        "CommissionerRenamed",
        day,
        by,
        {"commissioner_id": cid, "name": name},
        source=source,
        touch=[f"c:{cid}"],
    )


def merge_commissioner(
    w: World, day: dt.date, cid: str, into: str, *, by: str = ADMIN, rationale: str | None = None
) -> None:
    _live(w, "c", cid, day)
    _live(w, "c", into, day)
    w.commissioners[cid].until = day
    w.journal.write(
        "CommissionerMerged",
        day,
        by,
        {"commissioner_id": cid, "into": into},
        rationale=rationale,
        after=[f"c:{into}"],
        touch=[f"c:{cid}"],
    )


def abolish_commissioner(
    w: World,
    day: dt.date,
    cid: str,
    successors: list[tuple[str, Decimal]],
    *,
    by: str = ADMIN,
    rationale: str | None = None,
    source: str | None = None,
) -> None:
    _live(w, "c", cid, day)
    for s, _ in successors:
        _live(w, "c", s, day)
    w.commissioners[cid].until = day
    w.journal.write(
        "CommissionerAbolished",
        day,
        by,
        {"commissioner_id": cid, "successors": commissioner_list(successors)},
        rationale=rationale,
        source=source,
        after=[f"c:{s}" for s, _ in successors],
        touch=[f"c:{cid}"],
    )


def register(
    w: World, day: dt.date, p: Provider, *, by: str = ADMIN, source: str | None = None
) -> None:
    w.providers[p.id] = p
    w.journal.write(
        "ProviderRegistered",
        day,
        by,
        {
            "provider_id": p.id,
            "name": p.name,
            "sector": p.sector,
            "size_band": p.band,
            **p.identifiers,
        },
        source=source,
        touch=[f"p:{p.id}"],
    )


def rename_provider(
    w: World, day: dt.date, pid: str, name: str, *, by: str = ADMIN, source: str | None = None
) -> None:
    _live(w, "p", pid, day)
    w.providers[pid].name = name
    w.journal.write(
        "ProviderRenamed",
        day,
        by,
        {"provider_id": pid, "name": name},
        source=source,
        touch=[f"p:{pid}"],
    )


def reclassify(
    w: World,
    day: dt.date,
    pid: str,
    *,
    sector: str | None = None,
    band: str | None = None,
    by: str = ADMIN,
    rationale: str | None = None,
) -> None:
    _live(w, "p", pid, day)
    p = w.providers[pid]
    p.sector = sector or p.sector
    p.band = band or p.band
    w.journal.write(
        "ProviderReclassified",
        day,
        by,
        {"provider_id": pid, "sector": sector, "size_band": band},
        rationale=rationale,
        touch=[f"p:{pid}"],
    )


def merge_provider(
    w: World, day: dt.date, pid: str, into: str, *, by: str = ADMIN, rationale: str | None = None
) -> None:
    _live(w, "p", pid, day)
    _live(w, "p", into, day)
    live = [d.id for d in w.deals_with_provider(pid) if not d.ended and d.end >= day]
    if live:
        raise AssertionError(f"generator bug: {pid} merges with agreements not novated: {live}")
    w.providers[pid].until = day
    w.journal.write(
        "ProviderMerged",
        day,
        by,
        {"provider_id": pid, "into": into},
        rationale=rationale,
        after=[f"p:{into}"],
        touch=[f"p:{pid}"],
    )


def close_provider(
    w: World, day: dt.date, pid: str, *, by: str = ADMIN, rationale: str | None = None
) -> None:
    _live(w, "p", pid, day)
    w.providers[pid].until = day
    w.journal.write(
        "ProviderClosed", day, by, {"provider_id": pid}, rationale=rationale, touch=[f"p:{pid}"]
    )
