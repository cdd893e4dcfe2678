"""Set pieces: the particular histories DOMAIN.md describes, told once each on fixed dates.

Why: the random market gives volume; these give the cases every view and test needs to find
(an alliance that gains a member, a lead provider's supply chain, a Section 75 pool, a funding
settlement later disregarded, an award letter sent in error, a mistyped value corrected, paper
records typed in years later, provider mergers and a closure, contracts split and merged).
"""

from __future__ import annotations

from infra.generator.stories import (
    alliances,
    backfill,
    blocks,
    lead_provider,
    mistakes,
    pooled,
    providers,
    restructures,
)
from infra.generator.world import World


def schedule(w: World) -> None:
    for story in (
        blocks,
        alliances,
        lead_provider,
        pooled,
        restructures,
        mistakes,
        backfill,
        providers,
    ):
        story.schedule(w)
