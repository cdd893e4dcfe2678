"""The generator's picture of the world: who exists, who leads which team, what each agreement is.

Why: every event the generator writes must pass the ledger's rules, so it keeps its own model of
the state those rules read (which organisations are active, who holds which agreement, an
agreement's end and providers) and updates it in step with each record it writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Commissioner:
    id: str
    name: str
    kind: str
    area: str
    since: dt.date
    mail: str
    code: str
    until: dt.date | None = None

    def active(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)


@dataclass
class Provider:
    id: str
    name: str
    sector: str
    band: str
    since: dt.date
    categories: tuple[str, ...]
    areas: tuple[str, ...]
    identifiers: dict[str, str] = field(default_factory=dict)
    until: dt.date | None = None

    def active(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)

    def serves(self, category: str, area: str) -> bool:
        return category in self.categories and (area in self.areas or "all" in self.areas)


@dataclass
class Team:
    """A commissioning team inside an organisation; its lead holds the team's portfolio."""

    key: str
    commissioner_id: str
    remit: str
    area: str
    since: dt.date
    rate: float  # new agreements a year
    lead: str | None = None
    until: dt.date | None = None

    def active(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)


@dataclass
class Deal:
    """An agreement as the generator tracks it (mirrors what the ledger's fold would say)."""

    id: str
    team: str
    title: str
    category: str
    kind: str
    route: str
    stream: str
    commissioners: list[tuple[str, Decimal]]
    providers: list[dict[str, Any]]
    start: dt.date
    end: dt.date
    value: Decimal
    style: str  # grant, contract, block, spot, sla, keep
    awarded_on: dt.date
    award_event: str
    holder: str | None
    ended: bool = False
    fate: str | None = None  # an ending already decided and scheduled
    adrift: bool = False  # its commissioner went and nobody moved it
    renewals: int = 0
    token: int = 0
    touched: dt.date | None = None  # effective date of its latest record

    @property
    def open(self) -> bool:
        return not self.ended and self.fate is None and not self.adrift

    def provider_ids(self) -> list[str]:
        return [p["provider_id"] for p in self.providers]

    def main_provider(self) -> str:
        for p in self.providers:
            if p["role"] in ("sole", "lead"):
                return str(p["provider_id"])
        return str(self.providers[0]["provider_id"])
