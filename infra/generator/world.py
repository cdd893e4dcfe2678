"""The simulated world: its state, its calendar of things to do, and fresh names and ids.

Why: stories, reforms, staff churn and agreement decisions all happen on dates and interleave;
running them from one calendar in date order means every record is written after the state it
depends on, exactly as the ledger will check it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable
from typing import Any

from infra.generator.journal import Journal
from infra.generator.model import Commissioner, Deal, Provider, Team
from infra.generator.names import person_name

Action = Callable[..., None]


class World:
    def __init__(self, rng: random.Random, journal: Journal, *, last_day: dt.date):
        self.rng = rng
        self.journal = journal
        self.last_day = last_day  # nothing takes effect after this day
        self.commissioners: dict[str, Commissioner] = {}
        self.providers: dict[str, Provider] = {}
        self.teams: dict[str, Team] = {}
        self.deals: dict[str, Deal] = {}
        self.holdings: dict[str, dict[str, None]] = {}  # lead -> agreements held (in order)
        self._people: set[str] = set()
        self._agreement_numbers: dict[str, int] = {}
        self.named: dict[str, str] = {}  # story name -> agreement id
        self.lead_history: dict[str, list[tuple[dt.date, str]]] = {}  # team -> (from, lead)
        self.now = dt.date.min  # the day being simulated
        self._queue: list[tuple[dt.date, int, int, Action, tuple[Any, ...]]] = []
        self._seq = 0

    # -- calendar ------------------------------------------------------------------------------
    def at(self, day: dt.date, action: Action, *args: Any, priority: int = 5) -> None:
        """Do `action(world, day, *args)` on `day` (lower priority first on the same day).

        A day already past means today: the calendar never runs backwards.
        """
        day = max(day, self.now)
        if day > self.last_day:
            return
        self._seq += 1
        heapq.heappush(self._queue, (day, priority, self._seq, action, args))

    def run(self) -> None:
        while self._queue:
            day, _, _, action, args = heapq.heappop(self._queue)
            self.now = day
            action(self, day, *args)

    # -- names ---------------------------------------------------------------------------------
    def new_person(self, mail_domain: str) -> str:
        """A new commissioning lead's id: an e-mail address nobody else has."""
        while True:
            first, last = person_name(self.rng)
            base = f"{first[0].lower()}.{last.lower()}"
            for n in ("", "2", "3", "4"):
                candidate = f"{base}{n}@{mail_domain}"
                if candidate not in self._people:
                    self._people.add(candidate)
                    return candidate

    def same_person(self, lead: str, mail_domain: str) -> str:
        """The same person's id at a new organisation (a new address, so a new lead id)."""
        local = lead.split("@", 1)[0]
        candidate = f"{local}@{mail_domain}"
        if candidate in self._people:
            return self.new_person(mail_domain)
        self._people.add(candidate)
        return candidate

    def agreement_id(self, code: str, day: dt.date) -> str:
        key = f"{code}-{day.year}"
        self._agreement_numbers[key] = self._agreement_numbers.get(key, 0) + 1
        return f"{key}-{self._agreement_numbers[key]:03d}"

    # -- reading the state ---------------------------------------------------------------------
    def lead_on(self, team_key: str, day: dt.date) -> str | None:
        """Who led the team on `day` (None before its first lead)."""
        found = None
        for since, lead in self.lead_history.get(team_key, []):
            if since <= day:
                found = lead
        return found

    def commissioner_of(self, team_key: str) -> Commissioner:
        return self.commissioners[self.teams[team_key].commissioner_id]

    def mail_of(self, team_key: str) -> str:
        return self.commissioner_of(team_key).mail

    def clerk(self, team_key: str) -> str:
        """Who types in a team's records when no lead is named."""
        return f"contracts@{self.mail_of(team_key)}"

    def candidates(
        self, category: str, area: str, day: dt.date, sectors: tuple[str, ...] | None = None
    ) -> list[Provider]:
        return [
            p
            for p in self.providers.values()
            if p.active(day)
            and p.serves(category, area)
            and (sectors is None or p.sector in sectors)
        ]

    def deals_of_commissioner(self, commissioner_id: str) -> list[Deal]:
        return [
            d for d in self.deals.values() if any(c == commissioner_id for c, _ in d.commissioners)
        ]

    def deals_with_provider(self, provider_id: str) -> list[Deal]:
        return [d for d in self.deals.values() if provider_id in d.provider_ids()]
