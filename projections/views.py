"""Every market view at once, sharing the work: one spend table feeds them all.

Why: market, concentration, sector mix, entry and exit and providers at risk are all read off
the same attributed spend; computing it once and collecting the shared parts (spend, the
market's rows, the providers per segment) makes a full refresh cost little more than the
market alone.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from projections.diversity import at_risk_from, classed, entry_exit_from_market, mix_from_classed
from projections.families import as_text
from projections.market import concentration_from_market, market_from_spend, rounded, spend_as_of
from projections.standing import FrameLike, Snapshot

NAMES = ("market", "concentration", "mix", "entry_exit", "at_risk")


def market_views(
    frame: FrameLike | Snapshot, as_of: dt.date, known_at: dt.datetime | None = None
) -> dict[str, pl.LazyFrame]:
    """The market views of `frame` as of `as_of`, as known at `known_at`, by name."""
    basis, spend = spend_as_of(frame, as_of, known_at)
    view = market_from_spend(spend).collect().lazy()
    concentration = concentration_from_market(view).collect().lazy()
    views = {
        "market": view,
        "concentration": concentration,
        "mix": mix_from_classed(classed(spend, basis, as_of)),
        "entry_exit": entry_exit_from_market(view, concentration),
        "at_risk": at_risk_from(basis, spend, as_of),
    }
    return {name: rounded(as_text(rows)) for name, rows in views.items()}
