"""The agreements a filter selects: by id, responsible lead, commissioner or service category,
as they stand on the snapshot's date.

Why one function: `continuity`, `pipeline` and `flags` (and the site) take the same filters,
and each filter must mean the same thing in all of them: the lead responsible on the date, a
commissioner on the agreement's list on the date, the awarded service category.
"""

from __future__ import annotations

import polars as pl

from projections.families import as_text
from projections.standing import Snapshot


def selected(
    snap: Snapshot,
    *,
    agreement: str | None = None,
    lead: str | None = None,
    commissioner: str | None = None,
    category: str | None = None,
) -> pl.Series | None:
    """The ids (text) of the agreements every given filter keeps; None when none is given."""
    if agreement is None and lead is None and commissioner is None and category is None:
        return None
    rows = as_text(snap.agreements.lazy())
    if agreement is not None:
        rows = rows.filter(pl.col("agreement_id") == agreement)
    if lead is not None:
        rows = rows.filter(pl.col("responsible_lead") == lead)
    if commissioner is not None:
        rows = rows.filter(pl.col("commissioner_ids").list.contains(pl.lit(commissioner)))
    if category is not None:
        rows = rows.filter(pl.col("service_category") == category)
    return rows.select("agreement_id").collect().to_series()


def keep(view: pl.LazyFrame, ids: pl.Series | None) -> pl.LazyFrame:
    """The rows of a view (one or more per agreement) of the selected agreements."""
    if ids is None:
        return view
    return view.filter(pl.col("agreement_id").cast(pl.String).is_in(ids.implode()))
