"""England's commissioning structure for the national-scale file: 153 councils, 152 PCTs and
10 SHAs to 2013, about 190 CCGs to 2022, 42 ICBs, NHS England and its 7 regions, tens of
thousands of providers, and the commissioning teams that buy from them.

Why: the benchmark file must be valid under the ledger's rules, so every reference an agreement
makes (its commissioner on the award date, its provider then) is decided here, once, from the
seed; worker processes rebuild the same structure from the same seed instead of receiving it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from domain.values import equal_shares

D = dt.date
ORD_2002 = D(2002, 4, 1).toordinal()
ORD_2005 = D(2005, 4, 1).toordinal()
ORD_SHA = D(2006, 7, 1).toordinal()
ORD_2013 = D(2013, 4, 1).toordinal()
ORD_2022 = D(2022, 7, 1).toordinal()
NEVER = D(9999, 12, 31).toordinal()

N_COUNCILS, N_PCTS, N_SHAS, N_CCGS, N_ICBS = 153, 152, 10, 191, 42
REGIONS = (
    "london",
    "south-east",
    "south-west",
    "midlands",
    "east-of-england",
    "north-east-yorkshire",
    "north-west",
)
SECTORS = (("third_sector", 52), ("private", 33), ("nhs", 4), ("public_other", 3), ("unknown", 8))
BANDS = (("micro", 14), ("small", 30), ("medium", 30), ("large", 16), ("major", 6), ("unknown", 4))
WORDS = (
    "Mind",
    "Care",
    "Wellbeing",
    "Recovery",
    "Housing",
    "Advocacy",
    "Carers",
    "Pathways",
    "Horizons",
    "Bridges",
    "Community",
    "Hope",
    "Compass",
    "Harbour",
    "Beacon",
    "Oak",
)
PLACES = (
    "North",
    "South",
    "East",
    "West",
    "Vale",
    "Moor",
    "Bridge",
    "Field",
    "Ford",
    "Ton",
    "Ley",
    "Wick",
    "Stow",
    "Holme",
    "Dale",
    "Brook",
)


@dataclass
class Team:
    """A commissioning team and the organisations it has belonged to, with its leads."""

    index: int
    code: str
    remit: str  # council, nhs, spec
    area: int  # ICB area whose providers it mostly buys from
    chain: list[tuple[int, str, str]]  # (from ordinal, commissioner id, mail domain)
    leads: list[tuple[int, str]] = field(default_factory=list)  # (from ordinal, lead id)


@dataclass
class Structure:
    seed: int
    last: int  # ordinal of the last effective day
    header: list[dict[str, object]]
    teams: list[Team]
    providers_since: list[int]
    providers_until: list[int]
    successor: list[int]  # merged into (index) or -1
    pools: list[list[int]]  # area -> provider indexes (local and national)


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def build(seed: int, today: dt.date) -> Structure:
    rng = random.Random(f"{seed}/england/structure")
    last = today.toordinal() - 1
    header: list[dict[str, object]] = []

    def ev(type_: str, day: int, **fields: object) -> None:
        if day > last:  # the file stops at `today`
            return
        header.append(
            {
                "event_id": f"enh-{len(header) + 1}",
                "type": type_,
                "effective_on": D.fromordinal(day).isoformat(),
                "recorded_by": "national.import@ledger.example",
                **fields,
            }
        )

    councils = [f"la-{i:03d}" for i in range(N_COUNCILS)]
    pcts = [f"pct-{i:03d}" for i in range(N_PCTS)]
    shas = [f"sha-{i:02d}" for i in range(N_SHAS)]
    ccgs = [f"ccg-{i:03d}" for i in range(N_CCGS)]
    icbs = [f"icb-{i:02d}" for i in range(N_ICBS)]
    regions = [f"nhse-{r}" for r in REGIONS]
    ccg_pct = [i if i < N_PCTS else rng.randrange(N_PCTS) for i in range(N_CCGS)]
    ccg_icb = [i * N_ICBS // N_CCGS for i in range(N_CCGS)]
    council_icb = [i * N_ICBS // N_COUNCILS for i in range(N_COUNCILS)]
    for c in councils:
        ev(
            "CommissionerEstablished",
            D(1974, 4, 1).toordinal(),
            commissioner_id=c,
            name=f"{_place(rng)} Council",
            kind="council",
        )
    for p in pcts:
        ev(
            "CommissionerEstablished",
            ORD_2002,
            commissioner_id=p,
            name=f"{_place(rng)} Primary Care Trust",
            kind="pct",
        )
    for s in shas:
        ev(
            "CommissionerEstablished",
            ORD_SHA,
            commissioner_id=s,
            name=f"{_place(rng)} Strategic Health Authority",
            kind="sha",
        )
    ev(
        "CommissionerEstablished",
        D(2012, 10, 1).toordinal(),
        commissioner_id="nhse",
        name="NHS Commissioning Board",
        kind="nhse",
    )
    for r, name in zip(regions, REGIONS, strict=True):
        ev(
            "CommissionerEstablished",
            ORD_2013,
            commissioner_id=r,
            name=f"NHS England {name.replace('-', ' ').title()}",
            kind="nhse",
        )
    for c in ccgs:
        ev(
            "CommissionerEstablished",
            ORD_2013,
            commissioner_id=c,
            name=f"NHS {_place(rng)} CCG",
            kind="ccg",
        )
    for icb in icbs:
        ev(
            "CommissionerEstablished",
            ORD_2022,
            commissioner_id=icb,
            name=f"NHS {_place(rng)} Integrated Care Board",
            kind="icb",
        )
    ev("CommissionerRenamed", ORD_2013, commissioner_id="nhse", name="NHS England")
    for n, pct_id in enumerate(pcts):
        mine = [ccg for ccg, parent in zip(ccgs, ccg_pct, strict=True) if parent == n]
        ev(
            "CommissionerAbolished",
            ORD_2013,
            commissioner_id=pct_id,
            successors=[
                {"commissioner_id": ccg, "share": share}
                for ccg, share in zip(mine, equal_shares(len(mine)), strict=True)
            ],
        )
    for n, sha in enumerate(shas):
        ev(
            "CommissionerAbolished",
            ORD_2013,
            commissioner_id=sha,
            successors=[{"commissioner_id": regions[n % len(regions)], "share": "1"}],
        )
    for n, ccg in enumerate(ccgs):
        ev(
            "CommissionerAbolished",
            ORD_2022,
            commissioner_id=ccg,
            successors=[{"commissioner_id": icbs[ccg_icb[n]], "share": "1"}],
        )

    teams: list[Team] = []
    for n, council in enumerate(councils):
        for remit in ("mh", "carers", "ph", "housing"):
            teams.append(
                Team(
                    len(teams),
                    f"{council.upper()}-{remit.upper()}",
                    "council",
                    council_icb[n],
                    [(ORD_2002, council, f"{council}.gov.uk")],
                )
            )
    for n, ccg in enumerate(ccgs):
        pct = pcts[ccg_pct[n]]
        for remit in ("mh", "ld", "cyp"):
            teams.append(
                Team(
                    len(teams),
                    f"{ccg.upper()}-{remit.upper()}",
                    "nhs",
                    ccg_icb[n],
                    [
                        (ORD_2002, pct, f"{pct}.nhs.uk"),
                        (ORD_2013, ccg, "nhs.net"),
                        (ORD_2022, icbs[ccg_icb[n]], "nhs.net"),
                    ],
                )
            )
    for n, sha in enumerate(shas):
        teams.append(
            Team(
                len(teams),
                f"SPEC-{n:02d}",
                "spec",
                rng.randrange(N_ICBS),
                [
                    (ORD_SHA, sha, f"{sha}.nhs.uk"),
                    (ORD_2013, regions[n % len(regions)], "england.nhs.uk"),
                ],
            )
        )
    for t in teams:
        t.chain = [link for link in t.chain if link[0] <= last]
        t.leads = _leads(rng, t, last)
    return Structure(seed, last, header, teams, [], [], [], [[] for _ in range(N_ICBS)])


def _place(rng: random.Random) -> str:
    return rng.choice(PLACES[:8]) + rng.choice(PLACES[8:]).lower()


def _leads(rng: random.Random, team: Team, last: int) -> list[tuple[int, str]]:
    """Leads from the team's first day: churn every 1.3-6.5 years and at every reform."""
    out: list[tuple[int, str]] = []
    reforms = [start for start, _, _ in team.chain[1:]]
    day = team.chain[0][0]
    while day <= last:
        domain = next(m for start, _, m in reversed(team.chain) if start <= day)
        out.append((day, f"lead{len(out)}.t{team.index}@{domain}"))
        nxt = day + int(rng.uniform(1.3, 6.5) * 365)
        reform = next((r for r in reforms if day < r <= nxt), None)
        day = reform if reform is not None else nxt
    return out


def add_providers(structure: Structure, n: int) -> None:
    """Register `n` providers (some renamed, reclassified, closed or merged) in the header."""
    rng = random.Random(f"{structure.seed}/england/providers")
    header, last = structure.header, structure.last
    since, until, succ = structure.providers_since, structure.providers_until, structure.successor
    stable: list[int] = []
    endings: list[dict[str, object]] = []

    def ev(type_: str, day: int, **fields: object) -> dict[str, object]:
        return {
            "event_id": f"enp-{len(header) + len(endings) + 1}",
            "type": type_,
            "effective_on": D.fromordinal(day).isoformat(),
            "recorded_by": "national.import@ledger.example",
            **fields,
        }

    for i in range(n):
        sector, band = _pick(rng, SECTORS), _pick(rng, BANDS)
        start = D(rng.randint(1965, 2021), rng.randint(1, 12), 1).toordinal()
        if start > ORD_2005 and rng.random() < 0.6:
            start = D(rng.randint(1965, 2004), rng.randint(1, 12), 1).toordinal()
        end, merged = NEVER, -1
        if rng.random() < 0.12 and stable:
            end = start + rng.randint(3 * 365, 16 * 365)
            if end > last:
                end = NEVER
            elif rng.random() < 0.4:
                merged = rng.choice(stable)
                if since[merged] > end:
                    merged = -1
        since.append(start)
        until.append(end)
        succ.append(merged)
        area = -1 if rng.random() < 0.05 else rng.randrange(N_ICBS)
        if start > last:  # founded after the file's last day: never registered
            continue
        if end == NEVER:
            stable.append(i)
        for pool_index, pool in enumerate(structure.pools):
            if area in (-1, pool_index):
                pool.append(i)
        pid = f"prv-{i:06d}"
        header.append(
            ev(
                "ProviderRegistered",
                start,
                provider_id=pid,
                name=_provider_name(rng, sector, i),
                sector=sector,
                size_band=band,
            )
        )
        if rng.random() < 0.04:
            day = start + rng.randint(1, max(1, min(end, last) - start - 1))
            header.append(
                ev("ProviderRenamed", day, provider_id=pid, name=_provider_name(rng, sector, i))
            )
        if rng.random() < 0.04:
            day = start + rng.randint(1, max(1, min(end, last) - start - 1))
            header.append(
                ev("ProviderReclassified", day, provider_id=pid, size_band=_pick(rng, BANDS))
            )
        if end != NEVER:
            if merged >= 0:
                endings.append(ev("ProviderMerged", end, provider_id=pid, into=f"prv-{merged:06d}"))
            else:
                endings.append(ev("ProviderClosed", end, provider_id=pid))
    header.extend(endings)


def _provider_name(rng: random.Random, sector: str, i: int) -> str:
    base = f"{_place(rng)} {rng.choice(WORDS)}"
    if sector == "private":
        return f"{base} Ltd"
    if sector == "nhs":
        return f"{base} NHS Foundation Trust"
    return f"{base} ({i})" if rng.random() < 0.1 else base
