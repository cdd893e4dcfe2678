"""The names a user must type: commissioning leads, commissioners, providers and service
categories, each with what it holds; a search across them; and close names for a typo.

Why a module: every filter of every view takes an id (`--commissioner kv-icb`, `--lead
s.davies@brayford.gov.uk`, `--category supported_housing`), and a newcomer cannot guess them.
These lists, `find` and `closest` are what the CLI's name commands, its "did you mean" errors
and the site's search read. Pure functions over a `Snapshot`: as of its date, as known at its
time.

What "held" means here is what the brief means: the agreements open on the date (active, or
awarded and not yet started); `lapsed` counts those past their end with no decision, `ended`
those ended (terminated, decommissioned, expired, or ended without record). A commissioner
holds an agreement it commissions (in part or whole), a provider one it delivers (any role,
subcontracts included), a lead one it is responsible for; `annual_value_held` is the whole
annual value in force of those agreements, as the brief totals a portfolio.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from domain.errors import LedgerError
from projections.families import Events, as_text, awards, handovers
from projections.frame import commissioners as commissioner_rows
from projections.frame import providers as provider_rows
from projections.standing import Snapshot
from projections.sums import exact_sum

KINDS = ("commissioner", "provider", "lead", "category", "agreement")
HELD_STATUSES = ("active", "not_started")
COUNTS = ("held", "lapsed", "ended", "annual_value_held")
# the command that lists each kind of name, for the error that finds none close
LISTED_BY = {
    "commissioner": "cledger commissioners",
    "provider": "cledger providers",
    "lead": "cledger leads",
    "category": "cledger categories",
    "agreement": "cledger agreements",
}


# -- holdings ------------------------------------------------------------------------------------
def _standing(snap: Snapshot) -> pl.LazyFrame:
    """Each agreement awarded by the date with what it counts towards: held, lapsed or ended."""
    status = pl.col("status")
    held = status.is_in(HELD_STATUSES)
    return as_text(snap.agreements.lazy()).select(
        "agreement_id",
        "title",
        "service_category",
        "responsible_lead",
        "commissioner_ids",
        "provider_ids",
        held.alias("is_held"),
        (status == "lapsed").alias("is_lapsed"),
        (~held & (status != "lapsed")).alias("is_ended"),
        pl.col("annual_value"),
    )


def _counts() -> list[pl.Expr]:
    return [
        pl.col("is_held").sum().cast(pl.Int64).alias("held"),
        pl.col("is_lapsed").sum().cast(pl.Int64).alias("lapsed"),
        pl.col("is_ended").sum().cast(pl.Int64).alias("ended"),
        # summed in fixed point: the same total, to the penny, in every run
        exact_sum(pl.col("annual_value").filter(pl.col("is_held")))
        .round(2)
        .alias("annual_value_held"),
    ]


def _with_counts(names: pl.LazyFrame, key: str, counted: pl.LazyFrame) -> pl.DataFrame:
    """`names` with the counts of `counted` (one row per agreement and `key`), zero for none."""
    totals = counted.group_by(key).agg(_counts())
    return (
        names.join(totals, on=key, how="left")
        .with_columns(pl.col("held", "lapsed", "ended").fill_null(0))
        .with_columns(pl.col("annual_value_held").fill_null(0.0))
        .sort(key)
        .collect()
    )


def _lead_names(frame: Events) -> pl.LazyFrame:
    """Every lead named by an award or a handover in `frame`."""
    return (
        pl.concat(
            [
                awards(frame).select(pl.col("responsible_lead").alias("lead")),
                handovers(frame).select(pl.col("from_lead").alias("lead")),
                handovers(frame).select(pl.col("to_lead").alias("lead")),
            ]
        )
        .drop_nulls()
        .unique()
    )


def leads(snap: Snapshot) -> pl.DataFrame:
    """Every commissioning lead named by an award or a handover by the date: the commissioners
    of the agreements they hold, and what they hold."""
    standing = _standing(snap)
    held_with = (
        standing.filter(pl.col("is_held"))
        .select(pl.col("responsible_lead").alias("lead"), "commissioner_ids")
        .explode("commissioner_ids")
        .drop_nulls()
        .group_by("lead")
        .agg(pl.col("commissioner_ids").unique().sort().str.join("; ").alias("commissioners"))
    )
    names = _lead_names(snap.events).join(held_with, on="lead", how="left")
    counted = standing.rename({"responsible_lead": "lead"})
    return _with_counts(names, "lead", counted).select("lead", "commissioners", *COUNTS)


def commissioners(snap: Snapshot) -> pl.DataFrame:
    """Every commissioning organisation established by the date: name, kind, when it began and
    ended (and who took over), and what it holds."""
    successors = pl.coalesce(
        pl.col("merged_into"),
        pl.col("successors")
        .list.eval(pl.element().struct.field("commissioner_id"))
        .list.join("; "),
    )
    names = commissioner_rows(snap.events).select(
        "commissioner_id",
        "name",
        "kind",
        "established_on",
        "ended_on",
        successors.alias("succeeded_by"),
    )
    counted = (
        _standing(snap).explode("commissioner_ids").rename({"commissioner_ids": "commissioner_id"})
    )
    return _with_counts(names, "commissioner_id", counted)


def providers(snap: Snapshot) -> pl.DataFrame:
    """Every provider registered by the date: name, sector, size band, when it registered and
    closed or merged, and what it holds."""
    names = provider_rows(snap.events).select(
        "provider_id",
        "name",
        "sector",
        "size_band",
        "registered_on",
        "ended_on",
        "merged_into",
    )
    counted = (
        _standing(snap)
        .explode("provider_ids")
        .rename({"provider_ids": "provider_id"})
        .unique(["agreement_id", "provider_id"])  # a provider twice on one agreement counts once
    )
    return _with_counts(names, "provider_id", counted)


def categories(snap: Snapshot) -> pl.DataFrame:
    """Every service category of an award by the date: how many providers and commissioners
    hold agreements in it, and what is held."""
    standing = _standing(snap)
    held = standing.filter(pl.col("is_held"))
    parties = held.group_by("service_category").agg(
        _distinct("provider_ids").alias("providers"),
        _distinct("commissioner_ids").alias("commissioners"),
    )
    names = (
        standing.select("service_category")
        .unique()
        .join(parties, on="service_category", how="left")
    )
    out = _with_counts(names, "service_category", standing)
    return out.with_columns(pl.col("providers", "commissioners").fill_null(0)).select(
        "service_category", "providers", "commissioners", *COUNTS
    )


def _distinct(column: str) -> pl.Expr:
    """How many different ids a group's id lists hold."""
    ids = pl.col(column).list.explode(keep_nulls=False, empty_as_null=False)
    return ids.n_unique().cast(pl.Int64)


def display_names(frame: Events, as_of: dt.date) -> dict[str, dict[str, str]]:
    """The names providers and commissioners went by on `as_of` (their latest by then), for
    charts and tables that show names rather than ids: `{"provider": {id: name}, ...}`."""
    out: dict[str, dict[str, str]] = {}
    for kind, rows_of in (("provider", provider_rows), ("commissioner", commissioner_rows)):
        rows = rows_of(frame, as_of).select(f"{kind}_id", "name").drop_nulls().collect()
        out[kind] = dict(rows.iter_rows())
    return out


# -- search --------------------------------------------------------------------------------------
def folded(text: pl.Expr) -> pl.Expr:
    """Text as a search compares it: accents dropped, lower case, every run of punctuation,
    spaces or underscores one space (so `supported housing` finds `supported_housing`)."""
    return (
        text.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def fold(text: str) -> str:
    """`folded` for one string (the very same expression, so a query and a name agree)."""
    return str(pl.select(folded(pl.lit(text, pl.String))).item() or "")


# the ranks of a match, best first
EXACT_ID, EXACT_NAME, STARTS, WORD_STARTS, WITHIN = 1, 2, 3, 4, 5
MATCHED_ON = ("id", "name", "title", "former name")  # among equal matches, the first shown
MATCH_COLUMNS = ("kind", "id", "label", "matched_on", "matched_text", "rank")


def _texts(
    rows: pl.LazyFrame, kind: str, ident: str, label: str, text: str, matched_on: pl.Expr
) -> pl.LazyFrame:
    """`rows` as search candidates: (kind, id, label, matched_on, text)."""
    return rows.select(
        pl.lit(kind).alias("kind"),
        pl.col(ident).alias("id"),
        pl.col(label).alias("label"),
        matched_on.alias("matched_on"),
        pl.col(text).alias("text"),
    )


def _candidates(snap: Snapshot) -> pl.LazyFrame:
    """Every text a name can be found by: (kind, id, label, matched_on, text)."""
    ev = snap.events
    by_id = pl.lit("id")
    ag = as_text(awards(ev).select("agreement_id", "title"))
    rows = [
        _texts(ag, "agreement", "agreement_id", "title", "agreement_id", by_id),
        _texts(ag, "agreement", "agreement_id", "title", "title", pl.lit("title")),
    ]
    for kind, rows_of, types in (
        ("provider", provider_rows, ("ProviderRegistered", "ProviderRenamed")),
        ("commissioner", commissioner_rows, ("CommissionerEstablished", "CommissionerRenamed")),
    ):
        key = f"{kind}_id"
        current = rows_of(ev).select(pl.col(key).alias("id"), pl.col("name").alias("label"))
        every_name = (
            ev.frame.filter(pl.col("type").is_in(types))
            .select(pl.col(key).alias("id"), pl.col("name").alias("text"))
            .unique()
            .join(current, on="id")
        )
        named = pl.when(pl.col("text") == pl.col("label")).then(pl.lit("name"))
        rows += [
            _texts(current, kind, "id", "label", "id", by_id),
            _texts(every_name, kind, "id", "label", "text", named.otherwise(pl.lit("former name"))),
        ]
    leads = _lead_names(ev)
    categories = (
        awards(ev)
        .select(pl.col("service_category").alias("id"))
        .unique()
        .with_columns(pl.col("id").str.replace_all("_", " ").alias("label"))
    )
    rows += [
        _texts(leads, "lead", "lead", "lead", "lead", by_id),
        _texts(categories, "category", "id", "label", "id", by_id),
    ]
    return pl.concat(rows, how="vertical_relaxed").drop_nulls("text")


def search_candidates(snap: Snapshot) -> pl.DataFrame:
    """Every text `find` searches, folded once: a server answering many searches on one
    snapshot keeps this and passes it to `find`, instead of folding every name and title of the
    ledger again for each query (about a second at 1M events)."""
    return _candidates(snap).with_columns(folded(pl.col("text")).alias("folded")).collect()


def find(snap: Snapshot, text: str, candidates: pl.DataFrame | None = None) -> pl.DataFrame:
    """Everything whose id, name (current or former), title, lead or category matches `text`:
    every word of it, ignoring case and accents. Ranked: an exact id first, then an exact name
    or title, then texts starting with it, then those with every word starting a word, then
    the rest; within a rank commissioners, providers, leads, categories, then agreements, by
    label. One row per thing found (its best match): `kind`, `id`, `label`, `matched_on`
    (`id`, `name`, `former name`, `title`), `matched_text`, `rank` (1 best). `candidates`:
    `search_candidates(snap)` kept from an earlier call on the same snapshot."""
    query = fold(text)
    words = query.split()
    if not words:
        return pl.DataFrame(
            schema={c: pl.Int64 if c == "rank" else pl.String for c in MATCH_COLUMNS}
        )
    f = pl.col("folded")
    spaced = pl.lit(" ") + f
    every_word = pl.all_horizontal(f.str.contains(w, literal=True) for w in words)
    word_starts = pl.all_horizontal(spaced.str.contains(" " + w, literal=True) for w in words)
    rank = (
        pl.when((pl.col("matched_on") == "id") & (f == query))
        .then(EXACT_ID)
        .when(f == query)
        .then(EXACT_NAME)
        .when(f.str.starts_with(query))
        .then(STARTS)
        .when(word_starts)
        .then(WORD_STARTS)
        .otherwise(WITHIN)
    )
    order = pl.col("kind").replace_strict(list(KINDS), list(range(len(KINDS))))
    preferred = pl.col("matched_on").replace_strict(list(MATCHED_ON), list(range(len(MATCHED_ON))))
    searched = (
        candidates.lazy()
        if candidates is not None
        else _candidates(snap).with_columns(folded(pl.col("text")).alias("folded"))
    )
    return (
        searched.filter(every_word)
        .with_columns(rank.cast(pl.Int64).alias("rank"))
        .sort("rank", order, pl.col("label").str.to_lowercase(), "id", preferred)
        .unique(["kind", "id"], keep="first", maintain_order=True)
        .select("kind", "id", "label", "matched_on", pl.col("text").alias("matched_text"), "rank")
        .collect()
    )


# -- did you mean --------------------------------------------------------------------------------
CLOSE, NEAR = 70.0, 10.0  # rapidfuzz WRatio scores (0-100): close enough, and near the best


def closest(candidates: Iterable[str], value: str, n: int = 3) -> list[str]:
    """Up to `n` candidates close to `value`, closest first ("did you mean"): case, accents and
    punctuation ignored, a candidate containing the value counting as close (`mind` finds
    `stanmoor-mind`). rapidfuzz rather than difflib: a million agreement ids take it a
    fraction of a second."""
    from rapidfuzz import fuzz, process, utils

    def processed(s: str) -> str:
        return str(utils.default_process(_strip_accents(s)))

    found = process.extract(
        value,
        list(dict.fromkeys(candidates)),
        scorer=fuzz.WRatio,
        processor=processed,
        limit=n,
        score_cutoff=CLOSE,
    )
    # a near-certain match speaks alone: far weaker ones after it are noise
    best = found[0][1] if found else 0.0
    return [name for name, score, _index in found if score >= best - NEAR]


def _strip_accents(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class UnknownNameError(LedgerError):
    """A filter or argument names an id the ledger does not hold (as known then)."""

    def __init__(self, kind: str, value: str, suggestions: Sequence[str]) -> None:
        self.kind, self.value, self.suggestions = kind, value, list(suggestions)
        if suggestions:
            quoted = [f"'{s}'" for s in suggestions]
            options = " or ".join([", ".join(quoted[:-1]), quoted[-1]] if quoted[:-1] else quoted)
            hint = f"did you mean {options}?"
        else:
            hint = f"'{LISTED_BY[kind]}' lists them"
        super().__init__(f"no {kind} '{value}'; {hint}")


@dataclass(frozen=True)
class Known:
    """The ids of one kind the ledger holds as known at the snapshot's time (any date: a
    commissioner abolished before the as-of date is still a name, its views just empty), with
    the names they go by, to suggest an id when a user types a name."""

    ids: pl.Series
    names: pl.DataFrame  # id, name

    def suggest(self, value: str, n: int = 3) -> list[str]:
        by_name = self.names.filter(folded(pl.col("name")) == fold(value))["id"].to_list()
        if by_name:  # a name typed for an id: its id, nothing else
            return by_name[:n]
        close_ids = closest(self.ids.to_list(), value, n)
        close_names = closest(self.names["name"].to_list(), value, n) if self.names.height else []
        named = (
            self.names.filter(pl.col("name").is_in(close_names))
            .sort(pl.col("name").replace_strict(close_names, range(len(close_names))))["id"]
            .to_list()
        )
        return list(dict.fromkeys([*by_name, *close_ids, *named]))[:n]


def known(snap: Snapshot, kind: str) -> Known:
    """The ids of `kind` (one of `KINDS`) the ledger holds, as known at the snapshot's time."""
    frame = snap.frame
    none = pl.DataFrame(schema={"id": pl.String, "name": pl.String})
    if kind in ("commissioner", "provider"):
        rows_of = commissioner_rows if kind == "commissioner" else provider_rows
        named = rows_of(frame).select(pl.col(f"{kind}_id").alias("id"), "name").collect()
        return Known(named["id"].sort(), named.drop_nulls().sort("id"))
    if kind == "lead":
        return Known(_lead_names(frame).collect()["lead"].sort(), none)
    if kind == "category":
        ids = awards(frame).select("service_category").unique().collect()["service_category"]
        return Known(ids.drop_nulls().sort(), none)
    if kind == "agreement":
        rows = as_text(awards(frame).select("agreement_id", "title")).collect()
        return Known(rows["agreement_id"].unique().sort(), none)
    raise ValueError(f"no kind of name '{kind}'; expected one of {', '.join(KINDS)}")


def require(snap: Snapshot, kind: str, value: str | None) -> None:
    """Refuse an id the ledger does not hold, naming the closest it does (nothing for None)."""
    if value is None:
        return
    found = known(snap, kind)
    if not found.ids.is_in([value]).any():
        raise UnknownNameError(kind, value, found.suggest(value))
