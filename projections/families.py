"""Typed decoders of the event frame, one per event family: explicit columns, real types.

Why explicit schemas: a view that reads `annual_value` gets a Float64 column or an error, never a
silently null guess. Each decoder keeps only its family's rows, takes the fields it needs from
the frame's payload columns (`projections.payload`: `data` decoded once, money and shares
already Float64 and dates Date), and carries the common fields views need
(`effective_on`, `event_id`, `notification_id` for timeline order, `rationale`). Types are
named from the catalogue's own sets, never a second hand-kept list.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection
from typing import Concatenate, ParamSpec

import polars as pl

from domain.catalogue import AWARD_TYPES, ENDING_TYPES

_COMMON = ("effective_on", "event_id", "notification_id", "rationale", "source", "recorded_by")
P = ParamSpec("P")


class Families:
    """Events whose families are each decoded once, on first use, and kept.

    Why: every view starts from the same few families (awards, term changes, restructures...);
    decoding each once from the (lazy, corrections-applied) events, reading only its own
    columns, costs far less than materialising the whole wide frame or re-decoding a family
    for every view that reads it. `frame` is the events themselves, for questions across
    families.
    """

    __slots__ = ("_decoded", "frame")

    def __init__(self, frame: pl.LazyFrame) -> None:
        self.frame = frame
        self._decoded: dict[tuple[object, ...], pl.LazyFrame] = {}

    @classmethod
    def of(cls, events: Events) -> Families:
        return events if isinstance(events, Families) else cls(events)

    def decoded(
        self, key: tuple[object, ...], build: Callable[[pl.LazyFrame], pl.LazyFrame]
    ) -> pl.LazyFrame:
        if key not in self._decoded:
            # one collect per family: `collect_all` over families would cache the events
            # they share, every column of them, which costs more than one read per family
            self._decoded[key] = build(self.frame).collect().lazy()
        return self._decoded[key]


Events = pl.LazyFrame | Families


def family(
    decode: Callable[Concatenate[pl.LazyFrame, P], pl.LazyFrame],
) -> Callable[Concatenate[Events, P], pl.LazyFrame]:
    """A decoder that, given `Families`, decodes once and reuses the result."""

    @functools.wraps(decode)
    def decoder(frame: Events, /, *args: P.args, **kwargs: P.kwargs) -> pl.LazyFrame:
        if isinstance(frame, Families):
            key = (decode.__name__, *args, *sorted(kwargs.items()))
            return frame.decoded(key, lambda events: decode(events, *args, **kwargs))
        return decode(frame, *args, **kwargs)

    return decoder


def _decode(
    frame: pl.LazyFrame,
    types: Collection[str],
    fields: Collection[str],
    keep: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """Rows of `types` with the named fields of the payload as columns (absent ones null).
    Agreement ids are categorical (`AGREEMENT_IDS`)."""
    columns = ("type", *_COMMON, "recorded_at", *keep, *fields)
    return (
        frame.select(columns)
        .filter(pl.col("type").is_in(list(types)))
        .with_columns(agreement_ids(c) for c in columns if c in AGREEMENT_IDS)
    )


# Columns holding agreement ids. Views join and group by agreement ids more than anything else,
# which polars does on a categorical's integer codes several times faster than on text; views
# turn them back into text for their readers (`as_text`). A handover's `moved` stays text: its
# lists name each agreement once per handover (millions of entries at England scale), and a
# cast hashes every entry, where the one view reading them needs only one per agreement.
AGREEMENT_IDS = frozenset(
    {"agreement_id", "successor_agreement_id", "related_agreements", "agreements"}
)


def agreement_ids(column: str) -> pl.Expr:
    """An agreement-id column (or list of them) as categorical."""
    if column in ("related_agreements", "agreements"):
        return pl.col(column).cast(pl.List(pl.Categorical))
    return categorical(column)


def categorical(column: str) -> pl.Expr:
    """An id column as categorical: joined and grouped on its integer codes."""
    return pl.col(column).cast(pl.Categorical)


def codes(column: str) -> pl.Expr:
    """A categorical column's codes: sorting by them groups equal ids together without the
    text comparisons a lexical sort of the categories needs (for grouping, not for readers)."""
    return pl.col(column).to_physical()


def as_text(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Categorical columns (and lists of them) back to text, as views give them to readers."""
    schema = frame.collect_schema()
    return frame.with_columns(
        pl.col(name).cast(pl.List(pl.String) if isinstance(dtype, pl.List) else pl.String)
        for name, dtype in schema.items()
        if dtype == pl.Categorical or (isinstance(dtype, pl.List) and dtype.inner == pl.Categorical)
    )


@family
def awards(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`GrantAwarded` / `ContractAwarded`: one row per agreement with its awarded terms and its
    provider and commissioner lists (as written: `award_providers` and
    `award_commissioners` read them; one decoding of the award rows serves all three)."""
    fields = (
        "agreement_id",
        "kind",
        "title",
        "service_category",
        "route",
        "funding_stream",
        "responsible_lead",
        "annual_value",
        "start",
        "end",
        "providers",
        "commissioners",
    )
    return _decode(frame, AWARD_TYPES, fields)


def award_providers(frame: Events) -> pl.LazyFrame:
    """Each award's providers, one row each, in list order (`position`); subcontractors have
    no share."""
    return _explode_parties(awards(frame), "providers", ("provider_id", "role", "share"))


def award_commissioner_lists(frame: Events) -> pl.LazyFrame:
    """Each award's commissioner ids as a list, in the award's order."""
    return awards(frame).select(
        "agreement_id",
        "notification_id",
        "effective_on",
        pl.col("commissioners")
        .list.eval(pl.element().struct.field("commissioner_id"))
        .alias("commissioner_id"),
    )


def award_commissioners(frame: Events) -> pl.LazyFrame:
    """Each award's commissioners with their contribution shares."""
    return _explode_parties(awards(frame), "commissioners", ("commissioner_id", "share"))


def _explode_parties(rows: pl.LazyFrame, column: str, keys: tuple[str, ...]) -> pl.LazyFrame:
    return (
        rows.with_columns(pl.int_ranges(pl.col(column).list.len()).alias("position"))
        .explode(column, "position")
        .select(
            "agreement_id",
            *(pl.col(column).struct.field(k) for k in keys),
            pl.col("position").cast(pl.Int32),
            "effective_on",
            "event_id",
            "notification_id",
        )
    )


@family
def term_changes(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`RolledOver` / `Extended`: the new end (and a rollover's new value, else null)."""
    fields = ("agreement_id", "new_end", "annual_value")
    return _decode(frame, ("RolledOver", "Extended"), fields)


@family
def variations(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`Varied`: value and/or scope, applying from `applies_from` (default its effective date)."""
    fields = ("agreement_id", "annual_value", "scope", "applies_from")
    return _decode(frame, ("Varied",), fields).with_columns(
        pl.coalesce("applies_from", "effective_on").alias("applies_from")
    )


@family
def restructures(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`Restructured`: the change, the agreements it links, and new party lists when given."""
    fields = (
        "agreement_id",
        "change",
        "related_agreements",
        "provider_id",
        "commissioner_id",
        "providers",
        "commissioners",
    )
    return _decode(frame, ("Restructured",), fields)


@family
def reprocurements(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`Reprocured`: the successor agreement and whether the incumbent kept the service."""
    fields = ("agreement_id", "successor_agreement_id", "incumbent_retained")
    return _decode(frame, ("Reprocured",), fields)


@family
def endings(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`Terminated`, `Decommissioned`, `Expired`: the agreement is not active from that day."""
    return _decode(frame, ENDING_TYPES, ("agreement_id",))


@family
def settlements(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`FundingResponsibilityAgreed`: who pays what share, from `applies_from`."""
    fields = (
        "agreement_id",
        "commissioners",
        "notes",
        "applies_from",
    )
    return _decode(frame, ("FundingResponsibilityAgreed",), fields).with_columns(
        pl.coalesce("applies_from", "effective_on").alias("applies_from")
    )


@family
def handovers(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`HandedOver`: from and to lead, the agreements as written, and `moved` (the agreements
    that actually passed, a whole portfolio resolved at recording)."""
    fields = (
        "agreements",
        "portfolio_of",
        "from_lead",
        "to_lead",
        "from_commissioner",
        "to_commissioner",
        "notes",
    )
    return _decode(frame, ("HandedOver",), fields, keep=("moved",))


def _asof(frame: pl.LazyFrame, as_of: dt.date | None) -> pl.LazyFrame:
    return frame if as_of is None else frame.filter(pl.col("effective_on") <= as_of)


@family
def provider_history(frame: pl.LazyFrame) -> pl.LazyFrame:
    """A provider's sector and size band from each registration or reclassification on, carried
    forward, so a year's spend can be classed as the provider stood then (`join_asof`)."""
    fields = ("provider_id", "sector", "size_band")
    return (
        _decode(frame, ("ProviderRegistered", "ProviderReclassified"), fields)
        .sort("provider_id", "effective_on", "notification_id")
        .with_columns(pl.col("sector", "size_band").forward_fill().over("provider_id"))
        .select("provider_id", "effective_on", "sector", "size_band")
    )


@family
def providers(frame: pl.LazyFrame, as_of: dt.date | None = None) -> pl.LazyFrame:
    """Every provider as its events leave it by `as_of`: latest name, sector and size band,
    registration, and closure or merger (`ended_on`, `merged_into`)."""
    fields = (
        "provider_id",
        "name",
        "sector",
        "size_band",
        "into",
        "charity_number",
        "company_number",
        "ods_code",
    )
    types = [
        "ProviderRegistered",
        "ProviderRenamed",
        "ProviderReclassified",
        "ProviderMerged",
        "ProviderClosed",
    ]
    rows = _decode(_asof(frame, as_of), types, fields)
    ends = pl.col("type").is_in(["ProviderMerged", "ProviderClosed"])
    return (
        rows.sort("effective_on", "notification_id")
        .group_by("provider_id")
        .agg(
            *(
                pl.col(c).drop_nulls().last()
                for c in ("name", "sector", "size_band", "charity_number", "company_number")
            ),
            pl.col("ods_code").drop_nulls().last(),
            pl.col("effective_on")
            .filter(pl.col("type") == "ProviderRegistered")
            .first()
            .alias("registered_on"),
            pl.col("effective_on").filter(ends).first().alias("ended_on"),
            pl.col("into").drop_nulls().first().alias("merged_into"),
        )
        .sort("provider_id")
    )


@family
def commissioners(frame: pl.LazyFrame, as_of: dt.date | None = None) -> pl.LazyFrame:
    """Every commissioning organisation by `as_of`: latest name, kind, establishment, and its
    end by merger (`merged_into`) or abolition (`successors`)."""
    fields = (
        "commissioner_id",
        "name",
        "kind",
        "into",
        "successors",
    )
    types = [
        "CommissionerEstablished",
        "CommissionerRenamed",
        "CommissionerMerged",
        "CommissionerAbolished",
    ]
    rows = _decode(_asof(frame, as_of), types, fields)
    ends = pl.col("type").is_in(["CommissionerMerged", "CommissionerAbolished"])
    return (
        rows.sort("effective_on", "notification_id")
        .group_by("commissioner_id")
        .agg(
            pl.col("name").drop_nulls().last(),
            pl.col("kind").drop_nulls().last(),
            pl.col("effective_on")
            .filter(pl.col("type") == "CommissionerEstablished")
            .first()
            .alias("established_on"),
            pl.col("effective_on").filter(ends).first().alias("ended_on"),
            pl.col("into").drop_nulls().first().alias("merged_into"),
            pl.col("successors").drop_nulls().first(),
        )
        .sort("commissioner_id")
    )
