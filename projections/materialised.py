"""The per-agreement rows a streaming projector keeps, and the views answered from them.

Why per agreement: every figure of an agreement's rows (its spend per year, commissioner and
provider; its continuity, pipeline and flag rows) depends on its own events, the events of its
lineage and the organisations' events, so a batch of new events changes the rows of the
agreements it reaches and no others (`projections.incremental`), and the projector rewrites
only those. Segment views (shares, HHI, CR3, diversity) are summed across agreements, so they
are computed when read, from the spend rows, by the same functions the rebuild uses
(`Materialised` stands in for the rebuild's snapshot and answers its shared tables from the
stored rows); partitions can then be split between projectors that share one database.

Kept per agreement (each row carries `agreement_id`):
- `spend`: `projections.spend.agreement_spend`; `lives` and `provider_eras`: the spend basis's
  terms and provider eras, which the providers-at-risk view reads;
- `continuity`, `flags`: the rows of those views; `pipeline`: the expiry pipeline with no
  horizon (every open agreement ending on or after the day, with no decision since its term
  was set): a pipeline of N months is its rows ending within N months;
- `mentions`: which leads and commissioners an agreement's events (or handovers of it) name,
  and whether it carries a funding settlement: the agreements a brief can need.

Day-dependent figures (days left, tenure, limbo and lapsed days, what is in force) are rows
"as of" one day; the projector recomputes every row when the day changes (`as_of` is stored
beside them), and readers use the rows only when they are of the day asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from domain.catalogue import CATALOGUE
from domain.errors import LedgerError
from projections.audit import continuity_views
from projections.families import Families, as_text
from projections.frame import amended, effective_by, empty_frame, events_as_of, in_force
from projections.spend import Basis, agreement_spend, segment_spend_from
from projections.standing import Snapshot, add_months

SPEND_TABLES = ("spend", "lives", "provider_eras")
AGREEMENT_TABLES = ("continuity", "pipeline", "flags", "mentions")
TABLES = (*SPEND_TABLES, *AGREEMENT_TABLES)
SEQ = "_seq"  # a row's place among its agreement's rows, as the view gave them
ORDERS = {
    "continuity": ["agreement_id"],
    "pipeline": ["end", "agreement_id"],
    "flags": ["agreement_id"],
}
AGREEMENT_TYPES = [t.name for t in CATALOGUE.values() if t.subject == "agreement"]
_CATEGORICAL = {
    "spend": ("agreement_id", "service_category", "commissioner_id", "provider_id"),
    "lives": ("agreement_id", "service_category"),
    "provider_eras": ("agreement_id", "provider_id"),
}


def open_ended(as_of: dt.date) -> int:
    """Months from `as_of` to the last month a date can have: a pipeline with no horizon."""
    return (9999 - as_of.year) * 12 + (12 - as_of.month)


def spend_rows(
    frame: pl.DataFrame, as_of: dt.date, agreements: pl.Series | None = None
) -> dict[str, pl.DataFrame]:
    """`spend`, `lives` and `provider_eras` of `agreements` (all when None) as of `as_of`: each
    a function of the agreement's own events (corrections reach it through their target)."""
    part = frame if agreements is None else frame.filter(_about(agreements))
    basis = Basis.of(events_as_of(part.lazy(), as_of).collect().lazy())
    found = pl.collect_all(
        [as_text(agreement_spend(basis)), as_text(basis.lives), as_text(basis.p_eras)]
    )
    return dict(zip(SPEND_TABLES, found, strict=True))


def agreement_rows(
    frame: pl.DataFrame, as_of: dt.date, agreements: pl.Series | None = None
) -> dict[str, pl.DataFrame]:
    """`continuity`, `pipeline` (no horizon), `flags` and `mentions` of `agreements` (all when
    None), computed from their events, the handovers that moved them and every other event not
    about an agreement. `agreements` must be closed under lineage
    (`projections.incremental.reach`)."""
    part = frame
    if agreements is not None:
        # an agreement's rows read only the handovers that moved it (its lead, the handovers
        # it survived, their rationales): the others, with their long lists, are left out
        ids = agreements.cast(pl.String).implode()
        moved_one = pl.col("moved").list.eval(pl.element().is_in(ids)).list.any()
        others = ~pl.col("type").is_in(AGREEMENT_TYPES) & (
            (pl.col("type") != "HandedOver") | moved_one
        )
        part = frame.filter(_about(agreements) | others)
    views = continuity_views(Snapshot.of(part, as_of), as_of, None, open_ended(as_of))
    rows = {name: _numbered(views[name].collect()) for name in ORDERS}
    rows["mentions"] = mentions(part)
    if agreements is None:
        return rows
    mine = pl.col("agreement_id").is_in(agreements.implode())
    return {name: table.filter(mine) for name, table in rows.items()}


def _about(agreements: pl.Series) -> pl.Expr:
    return pl.col("subject_id").is_in(agreements.cast(pl.String).implode())


def _numbered(rows: pl.DataFrame) -> pl.DataFrame:
    """Each row's place among its agreement's rows (the view's own order within one)."""
    return rows.with_columns(pl.int_range(pl.len()).over("agreement_id").cast(pl.Int64).alias(SEQ))


def mentions(frame: pl.DataFrame) -> pl.DataFrame:
    """(agreement_id, kind, name): the leads (`lead`) and commissioners (`commissioner`) any
    event of an agreement, as recorded or as corrected, or any handover moving it, names; and
    `settlement` for an agreement with a funding settlement. A superset of what a brief of a
    lead or commissioner reads about that agreement."""
    # as recorded, and the corrected events as corrected (few: not the whole frame again)
    both = pl.concat([frame.lazy(), amended(frame.lazy()).replaced.lazy()])
    own = both.filter(pl.col("type").is_in(AGREEMENT_TYPES)).select(
        pl.col("subject_id").alias("agreement_id"),
        "type",
        "responsible_lead",
        "commissioner_id",
        pl.col("commissioners").list.eval(pl.element().struct.field("commissioner_id")),
    )
    moved = both.filter(pl.col("type") == "HandedOver").select(
        pl.col("moved").alias("agreement_id"),
        "from_lead",
        "to_lead",
        "from_commissioner",
        "to_commissioner",
    )
    moved = moved.explode("agreement_id")

    def named(rows: pl.LazyFrame, kind: str, column: pl.Expr) -> pl.LazyFrame:
        return rows.select("agreement_id", pl.lit(kind).alias("kind"), column.alias("name"))

    parts = [
        named(own, "lead", pl.col("responsible_lead")),
        named(own, "commissioner", pl.col("commissioner_id")),
        named(own.explode("commissioners"), "commissioner", pl.col("commissioners")),
        named(
            own.filter(pl.col("type") == "FundingResponsibilityAgreed"), "settlement", pl.lit("")
        ),
        *(named(moved, "lead", pl.col(c)) for c in ("from_lead", "to_lead")),
        *(
            named(moved, "commissioner", pl.col(c))
            for c in ("from_commissioner", "to_commissioner")
        ),
    ]
    return (
        pl.concat(parts)
        .drop_nulls()
        .unique(maintain_order=True)
        .sort("agreement_id", "kind", "name")
        .collect()
    )


def schemas() -> dict[str, pl.Schema]:
    """The schema of every table (what an empty ledger's rows have)."""
    empty, day = empty_frame(), dt.date(2000, 1, 1)
    tables = {**spend_rows(empty, day), **agreement_rows(empty, day)}
    return {name: tables[name].schema for name in TABLES}


# -- reading ----------------------------------------------------------------------------------
class NotMaterialisedError(LedgerError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"'{what}' is not kept in the views database; expected a view of the market, "
            "continuity, pipeline or flags (or no --views)"
        )


class Materialised(Snapshot):
    """The rebuild's snapshot as of `as_of`, answered from the stored rows: the shared tables
    the views start from (`basis`, `segment_spend`, `continuity`, `flags`, `pipeline:N`)
    are read from `tables` (name -> a loader), and the organisations' events (`frame`) give
    providers' sectors and sizes. Anything else would need every agreement's events, which
    this snapshot does not hold: it is refused rather than computed from too little."""

    def __init__(
        self,
        tables: Mapping[str, Callable[[], pl.DataFrame]],
        organisations: pl.DataFrame,
        as_of: dt.date,
    ):
        super().__init__(organisations.lazy(), as_of, None)
        self.tables = tables

    def view(self, name: str, compute: Callable[[Snapshot], Any]) -> Any:
        if name not in self._views:
            self._views[name] = self._answer(name)
        return self._views[name]

    def _table(self, name: str) -> pl.DataFrame:
        rows = self.tables[name]()
        return rows.with_columns(pl.col(c).cast(pl.Categorical) for c in _CATEGORICAL.get(name, ()))

    def _answer(self, name: str) -> Any:
        if name == "segment_spend":
            return segment_spend_from(self._table("spend").lazy()).collect().lazy()
        if name == "basis":
            empty = Basis.of(empty_frame().lazy())
            events = Families(effective_by(in_force(self.frame), self.as_of))
            return Basis(
                events,
                self._table("lives").lazy(),
                empty.values,
                self._table("provider_eras").lazy(),
                empty.c_eras,
            )
        if name in ("continuity", "flags"):
            return self._ordered(name)
        if name.startswith("pipeline:"):
            horizon = add_months(self.as_of, int(name.split(":", 1)[1]))
            return self._ordered("pipeline").filter(pl.col("end") <= horizon)
        raise NotMaterialisedError(name)

    def _ordered(self, name: str) -> pl.DataFrame:
        rows = self.tables[name]()
        return rows.sort([*ORDERS[name], SEQ]).drop(SEQ)

    @property
    def events(self) -> Families:
        raise NotMaterialisedError("the events in force")

    @property
    def terms(self) -> pl.DataFrame:
        raise NotMaterialisedError("the terms")

    @property
    def members(self) -> pl.DataFrame:
        raise NotMaterialisedError("the provider memberships")

    @property
    def agreements(self) -> pl.DataFrame:
        raise NotMaterialisedError("the agreements")
