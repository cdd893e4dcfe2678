"""One commissioning team's twenty years at national scale, as native JSON lines.

Why: the England file is millions of events; each team's history is independent of the others
(its own leads, its own agreements, providers drawn from a shared, precomputed register), so it
can be generated in a worker process and streamed. Every agreement's events come out in
effective-date order with the rules' constraints built in: terms only move later, nothing after
an ending, moves to the new commissioner at each reform, novation when a provider merges and
termination when it closes, handovers only of portfolios that hold something.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

import orjson

from infra.generator.england_structure import ORD_2005, Structure, Team

D = dt.date
_BASE = D(1960, 1, 1).toordinal()
_ISO = [D.fromordinal(o).isoformat() for o in range(_BASE, D(2101, 1, 1).toordinal())]
_FY_ENDS = [D(y, 3, 31).toordinal() for y in range(1961, 2101)]
WINDOWS = (
    (D(2012, 9, 1).toordinal(), D(2013, 9, 30).toordinal()),
    (D(2020, 3, 15).toordinal(), D(2021, 3, 31).toordinal()),
    (D(2021, 9, 1).toordinal(), D(2022, 12, 31).toordinal()),
)
CATEGORIES = {
    "council": (
        "advocacy",
        "supported_housing",
        "day_activities",
        "employment_support",
        "peer_support",
        "carers_support",
        "domiciliary_care",
        "residential_care",
        "advice_and_counselling",
        "recovery",
        "prevention_and_personalisation",
    ),
    "nhs": (
        "iapt",
        "crisis_support",
        "community_mental_health",
        "early_intervention_psychosis",
        "acute_inpatient",
        "advice_and_counselling",
        "peer_support",
        "employment_support",
    ),
    "spec": ("secure_care", "eating_disorders"),
}
STREAM = {"council": "social_care", "nhs": "nhs", "spec": "nhs"}
ROLL = (
    "service performing; renewed without competition",
    "annual renewal",
    "no capacity to tender; rolled over",
    "renewed with an inflationary uplift",
)
EXTEND = (
    "extended while the re-procurement completes",
    "extension option exercised",
    "extended pending the service review",
)
EXTEND_REFORM = (
    "short extension during the reorganisation",
    "extended pending transfer to the successor body",
)
DIRECT = ("only provider able to deliver", "urgent need", "continuation of existing service")


def iso(ordinal: int) -> str:
    return _ISO[ordinal - _BASE]


def fy_end_after(ordinal: int) -> int:
    """The first 31 March on or after `ordinal`."""
    return _FY_ENDS[bisect.bisect_left(_FY_ENDS, ordinal)]


@dataclass
class Life:
    """An agreement while its history is being written."""

    aid: str
    style: str
    award: int
    start: int
    end: int
    value: int
    provider: int
    chain_pos: int  # index of the team's commissioner it is with
    last: int  # latest effective day written


class TeamWriter:
    def __init__(self, s: Structure, team: Team, block: int):
        self.s, self.team, self.block = s, team, block
        self.rng = random.Random(f"{s.seed}/england/team/{team.index}")
        self.lines: list[bytes] = []
        self.assigned: list[int] = []  # award days of agreements given to a lead
        self.serial = 0
        self.lead_days = [d for d, _ in team.leads]
        self.chain_days = [d for d, _, _ in team.chain]
        self.pool = s.pools[team.area]

    # -- output ---------------------------------------------------------------------------------
    def emit(
        self, type_: str, day: int, by: str, fields: dict[str, object], rationale: str | None = None
    ) -> None:
        rec: dict[str, object] = {
            "event_id": f"en{self.block}-{len(self.lines) + 1}",
            "type": type_,
            "effective_on": iso(day),
            "recorded_by": by,
        }
        if rationale is not None:
            rec["rationale"] = rationale
        rec.update(fields)
        self.lines.append(orjson.dumps(rec))

    def lead_on(self, day: int) -> str:
        return self.team.leads[bisect.bisect_right(self.lead_days, day) - 1][1]

    def chain_on(self, day: int) -> int:
        return bisect.bisect_right(self.chain_days, day) - 1

    # -- agreements -----------------------------------------------------------------------------
    def provider_on(self, day: int) -> int:
        s, rng = self.s, self.rng
        for _ in range(30):
            p = self.pool[rng.randrange(len(self.pool))]
            if s.providers_since[p] <= day < s.providers_until[p]:
                return p
        return -1

    def award(
        self,
        day: int,
        start: int,
        style: str,
        *,
        provider: int = -1,
        route: str | None = None,
        value: int = 0,
    ) -> Life | None:
        rng, team = self.rng, self.team
        provider = provider if provider >= 0 else self.provider_on(day)
        if provider < 0:
            return None
        pos = self.chain_on(day)
        self.serial += 1
        aid = f"{team.code}-{self.serial:05d}"
        if style == "grant":
            kind, end = "grant", fy_end_after(start + 200)
            route = route or rng.choice(("grant_round", "grant_round", "direct_award"))
        elif style == "block":
            kind, end, route = "contract", fy_end_after(start + 200), "direct_award"
        elif style == "spot":
            kind, end, route = "spot", start + rng.randint(180, 540), "spot"
        else:
            kind, end = "contract", start + rng.choice((730, 1095, 1095, 1460, 1825)) - 1
            route = route or rng.choice(
                ("competitive_tender", "competitive_tender", "direct_award", "framework", "unknown")
            )
            if route == "framework":
                kind = "framework_call_off"
        value = (
            value
            or rng.choice((5, 10, 20, 40, 80, 150, 300, 600, 1200)) * 1000 * rng.randint(1, 9) // 3
        )
        lead = self.lead_on(day) if rng.random() > 0.05 else None
        rescinded = rng.random() < 0.001
        if rescinded:
            lead = None
        fields: dict[str, object] = {
            "agreement_id": aid,
            "kind": kind,
            "title": f"{rng.choice(CATEGORIES[team.remit])}".replace("_", " ").capitalize()
            + f" ({team.code})",
            "service_category": rng.choice(CATEGORIES[team.remit]),
            "commissioners": [{"commissioner_id": team.chain[pos][1], "share": "1"}],
            "providers": [{"provider_id": f"prv-{provider:06d}", "role": "sole", "share": "1"}],
            "annual_value": f"{value}.00",
            "start": iso(start),
            "end": iso(end),
            "route": route,
            "funding_stream": STREAM[team.remit],
        }
        if lead:
            fields["responsible_lead"] = lead
            self.assigned.append(day)
        by = lead or f"contracts@{team.chain[pos][2]}"
        self.emit(
            "GrantAwarded" if kind == "grant" else "ContractAwarded",
            day,
            by,
            fields,
            rng.choice(DIRECT) if route == "direct_award" else None,
        )
        if rescinded:
            self.emit(
                "Rescinded",
                day + 1,
                by,
                {"rescinds": self.last_id(-1), "agreement_id": aid},
                "award letter sent in error",
            )
            return None
        return Life(aid, style, day, start, end, value, provider, pos, day)

    def last_id(self, back: int) -> str:
        return str(orjson.loads(self.lines[back])["event_id"])

    def at(
        self,
        life: Life,
        type_: str,
        day: int,
        fields: dict[str, object],
        rationale: str | None = None,
    ) -> bool:
        """Write an event on `day`, first writing any reform move or provider change due.

        Returns False when the agreement ended on the way (its provider closed).
        """
        if not self.advance(life, day):
            return False
        self.emit(type_, day, self.by(life), {"agreement_id": life.aid, **fields}, rationale)
        life.last = day
        return True

    def advance(self, life: Life, day: int) -> bool:
        """Write the reform moves and provider changes due by `day`, in date order; False if
        the agreement ended on the way (its provider closed)."""
        s, chain = self.s, self.team.chain
        while True:
            move = chain[life.chain_pos + 1][0] if life.chain_pos + 1 < len(chain) else None
            gone = s.providers_until[life.provider]
            if move is not None and move <= day and move <= gone:
                life.chain_pos += 1
                _, cid, mail = chain[life.chain_pos]
                self.emit(
                    "Restructured",
                    move,
                    f"transition@{mail}",
                    {
                        "agreement_id": life.aid,
                        "change": "moved_commissioner",
                        "related_agreements": [],
                        "commissioner_id": cid,
                    },
                    "statutory transfer to the successor commissioner",
                )
                life.last = move
            elif gone <= day:
                heir = s.successor[life.provider]
                if heir < 0:
                    self.emit(
                        "Terminated",
                        gone,
                        self.by(life),
                        {"agreement_id": life.aid},
                        "provider ceased trading",
                    )
                    return False
                self.emit(
                    "Restructured",
                    gone,
                    self.by(life),
                    {
                        "agreement_id": life.aid,
                        "change": "novated",
                        "related_agreements": [],
                        "provider_id": f"prv-{heir:06d}",
                    },
                    "novated after the provider merged",
                )
                life.provider, life.last = heir, gone
            else:
                return True

    def by(self, life: Life) -> str:
        return f"contracts@{self.team.chain[life.chain_pos][2]}"

    def live(self, life: Life) -> None:
        """Decisions until the agreement ends or today is reached."""
        rng, last = self.rng, self.s.last
        while True:
            decide = life.end - rng.randint(10, 90)
            if rng.random() < 0.08:
                decide = life.end + rng.randint(3, 45)
            decide = max(decide, life.last + 1)
            if rng.random() < 0.25 and decide - life.last > 40:
                day = max(life.start, life.last + rng.randint(20, decide - life.last - 10))
                if day < decide and day < last:
                    life.value = max(1000, life.value * rng.randint(85, 125) // 100)
                    if not self.at(
                        life,
                        "Varied",
                        day,
                        {"annual_value": f"{life.value}.00"},
                        "in-year change to activity",
                    ):
                        return
                    if rng.random() < 0.01 and day + 5 <= last:
                        self.emit(
                            "Corrected",
                            day + 5,
                            self.by(life),
                            {
                                "corrects": self.last_id(-1),
                                "agreement_id": life.aid,
                                "fields": {"annual_value": f"{life.value + 100}.00"},
                            },
                            "value mistyped",
                        )
                    if rng.random() < 0.03:
                        self.at(life, "Terminated", day + 1, {}, "ended early by agreement")
                        return
            if decide > last:
                self.advance(life, last)
                return
            reform = any(a <= decide <= b for a, b in WINDOWS)
            roll = {"grant": 0.8, "block": 0.9, "contract": 0.3, "spot": 0.0}[life.style]
            ext = (
                0.6
                if reform
                else {"grant": 0.05, "block": 0.1, "contract": 0.2, "spot": 0.5}[life.style]
            )
            r = rng.random()
            if r < ext:
                months = rng.randint(3, 6) if reform else rng.choice((3, 6, 12))
                new_end = life.end + months * 30
                ok = self.at(
                    life,
                    "Extended",
                    decide,
                    {"new_end": iso(new_end)},
                    rng.choice(EXTEND_REFORM if reform else EXTEND),
                )
                life.end = new_end
            elif r < ext + (1 - ext) * roll:
                new_end = (
                    fy_end_after(life.end + 300)
                    if life.style != "contract"
                    else life.end + rng.choice((365, 730))
                )
                fields: dict[str, object] = {"new_end": iso(new_end)}
                if rng.random() < 0.3:
                    life.value = life.value * rng.randint(100, 106) // 100
                    fields["annual_value"] = f"{life.value}.00"
                ok = self.at(life, "RolledOver", decide, fields, rng.choice(ROLL))
                life.end = new_end
            else:
                self.close(life, decide)
                return
            if not ok:
                return

    def close(self, life: Life, decide: int) -> None:
        rng, last = self.rng, self.s.last
        r = rng.random()
        if r < 0.45 and life.style != "spot":
            start = max(life.end + 1, decide + 30)
            incumbent = life.provider
            keep = self.s.providers_since[incumbent] <= decide < self.s.providers_until[incumbent]
            succ = self.award(
                decide,
                start,
                "contract",
                route="competitive_tender",
                provider=incumbent if keep and rng.random() < 0.55 else -1,
                value=max(1000, life.value * rng.randint(85, 115) // 100),
            )
            if succ is not None:
                self.queue.append(succ)
                if not self.at(
                    life,
                    "Reprocured",
                    decide,
                    {
                        "successor_agreement_id": succ.aid,
                        "incumbent_retained": succ.provider == incumbent,
                    },
                ):
                    return
        ending = max(life.end + 1, decide + 1)
        if ending > last:
            self.advance(life, last)
            return
        if r > 0.85:
            self.at(life, "Decommissioned", ending, {}, "service decommissioned")
        else:
            self.at(life, "Expired", ending, {})

    # -- the team's history ---------------------------------------------------------------------
    def write(self, agreements: int) -> list[bytes]:
        rng, team, last = self.rng, self.team, self.s.last
        first = max(team.chain[0][0], ORD_2005 - 700)
        if first > last - 20:
            return self.lines
        self.queue: list[Life] = []
        styles = (
            ("grant", "contract", "contract", "spot")
            if team.remit != "spec"
            else ("spot", "spot", "contract")
        )
        for _ in range(agreements):
            day = rng.randint(first, last - 20)
            style = rng.choice(styles)
            if team.remit == "nhs" and rng.random() < 0.08:
                style = "block"
            life = self.award(day, day + rng.randint(14, 90), style)
            if life is None:
                continue
            life.style = style
            self.queue.append(life)
            while self.queue:
                self.live(self.queue.pop())
        self.handovers()
        return self.lines

    def handovers(self) -> None:
        """Each lead hands the portfolio to the next, when there is anything to hand over."""
        rng, team = self.rng, self.team
        assigned = sorted(self.assigned)
        for k in range(1, len(team.leads)):
            day, lead = team.leads[k]
            if bisect.bisect_left(assigned, day) == 0:
                continue
            pos = self.chain_on(day)
            reform = team.chain[pos][0] == day
            fields: dict[str, object] = {
                "portfolio_of": team.leads[k - 1][1],
                "from_lead": team.leads[k - 1][1],
                "to_lead": lead,
                "to_commissioner": team.chain[pos][1],
            }
            if not reform:
                fields["from_commissioner"] = team.chain[pos][1]
            self.emit(
                "HandedOver",
                day,
                lead,
                fields,
                "statutory transfer"
                if reform
                else rng.choice(("lead left", "restructure", "promotion")),
            )


def team_lines(structure: Structure, team_index: int, agreements: int) -> list[bytes]:
    team = structure.teams[team_index]
    return TeamWriter(structure, team, team_index).write(agreements)
