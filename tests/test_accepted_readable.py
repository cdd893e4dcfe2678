"""Every event the domain accepts can be loaded and projected by every view and export (issue
13, part 1): a property test over adversarial values drawn for the catalogue's field kinds.

Hypothesis draws 2,000 small worlds (a commissioner, providers, an award, and some of a
variation, an extension, a correction, a rename, a termination), each value of each field
from its kind's valid values or from what a careless or hostile file holds: ISO week, ordinal
and out-of-range dates, digits in other scripts, exponents, NaN and Infinity, control, bidi
and formula text, unknown fields in a correction. Each world's records go through the
catalogue (`parse_event`): accepted or refused. The accepted worlds are recorded together in
one store (SQLite and PostgreSQL), a world the ledger's rules refuse set apart, and then every
view and export runs on the store (JSON, CSV, XLSX, Parquet, OCDS, the native export, the
terminal tables): none may fail, and the native export must re-import as it is. The counts
(accepted, refused by a value, refused by a rule) are printed in pytest's summary
(tests/fuzz_summary.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.catalogue import LedgerEvent, parse_event
from domain.errors import LedgerError, StoredValueWarning
from domain.values import equal_shares
from infra.bootstrap import open_ledger
from tests.fuzz_summary import record_counts
from tests.values_views import output, run_every_view

EXAMPLES = int(os.environ.get("CLEDGER_PROPERTY_EXAMPLES", "2000"))
AS_OF = "2020-06-30"

HOSTILE_TEXT = [
    "\t", "\x00", "\x1b[31m", "\x07", "\r", "\n", "\r\n", "\x7f", "\x85", "\x9b", "\u202e",
    "\u2066", "\u2028", "\ufeff", "\u200d", "e\u0301", "\u00a0", "١", "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x")', "+1", "-1", "@SUM(1)", '"', "\\", "'", "<b>", "%s", "{}", " ",
    "null", "\U0001f600", "\ud7ff", "\uffff",
]  # fmt: skip
_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), min_size=0, max_size=12
) | st.sampled_from(HOSTILE_TEXT)
TEXT = st.lists(_text, min_size=1, max_size=4).map("".join)
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
VALID_TEXT = st.one_of(
    st.text(
        alphabet=st.characters(
            exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters=_BIDI
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from(["=cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "+1", "-1", "@SUM(1)",
                     "e\u0301", "\u00a0x", "\U0001f600", "١", '"\\', "\ufeffx", "a\u200db"]),
).filter(str.strip)  # fmt: skip
PLAIN = st.text(alphabet="abcdefghij0123456789 -_.", min_size=1, max_size=10)

_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _iso_week(d: dt.date) -> str:
    year, week, day = d.isocalendar()
    return f"{year:04d}-W{week:02d}-{day}"


VALID_DAY = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
HOSTILE_DATE = st.one_of(
    st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),  # years 1 to 9999
    VALID_DAY.map(_iso_week),
    VALID_DAY.map(lambda d: d.strftime("%Y-%j")),
    VALID_DAY.map(lambda d: d.isoformat().translate(_DIGITS)),
    VALID_DAY.map(lambda d: d.strftime("%Y%m%d")),
    VALID_DAY.map(lambda d: f" {d.isoformat()}"),
    st.sampled_from(["9999-12-31", "0001-01-01", "2014-02-30", "2014-13-01", "", "null"]),
    TEXT,
)
HOSTILE_MONEY = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["1e5", "1E+2", "NaN", "Infinity", "-0", "-1.00", "١٠٠", "1_000", " 1", "0x10",
                     "12.345", "9999999999999.99", "10000000000000.00", "+5"]),
    st.integers(0, 10**6),  # a JSON number, not a string
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)  # fmt: skip
VALID_MONEY = st.one_of(
    st.decimals(0, Decimal("9999999999999.99"), places=2).map(str),
    st.integers(0, 10**9).map(str),
    st.sampled_from(["0", "0.5", "12.5", "9999999999999.99"]),
)


RARELY = st.sampled_from([False] * 24 + [True])


def maybe_hostile(valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any], draw: Any) -> Any:
    """A valid value mostly; one the format may refuse one time in twenty-five."""
    return draw(hostile) if draw(RARELY) else draw(valid)


@st.composite
def worlds(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The native records of one small world, ids unique to it."""
    tag = uuid.uuid4().hex[:8]
    ident = lambda name: f"{name}-{tag}" + maybe_hostile(PLAIN | st.just(""), TEXT, draw)  # noqa: E731
    text = lambda: maybe_hostile(VALID_TEXT, TEXT, draw)  # noqa: E731
    day = lambda: maybe_hostile(VALID_DAY.map(dt.date.isoformat), HOSTILE_DATE, draw)  # noqa: E731
    money = lambda: maybe_hostile(VALID_MONEY, HOSTILE_MONEY, draw)  # noqa: E731

    def rec(type_: str, effective_on: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": f"e-{tag}-{len(out)}",
            "type": type_,
            "effective_on": effective_on,
            "recorded_by": text(),
            **fields,
        }

    out: list[dict[str, Any]] = []
    cid = ident("c")
    out.append(rec("CommissionerEstablished", "1900-01-01", commissioner_id=cid, name=text(),
                   kind="council"))  # fmt: skip
    pids = [ident(f"p{i}") for i in range(draw(st.integers(1, 3)))]
    for pid in pids:
        extra = {"charity_number": text()} if draw(st.booleans()) else {}
        out.append(rec("ProviderRegistered", "1900-01-01", provider_id=pid, name=text(),
                       sector="third_sector", size_band="small", **extra))  # fmt: skip
    split = equal_shares(len(pids))
    if draw(RARELY):
        split = [maybe_hostile(st.just(s), TEXT | HOSTILE_MONEY, draw) for s in split]
    roles = ["sole"] if len(pids) == 1 else ["lead"] + ["alliance_member"] * (len(pids) - 1)
    start, end = sorted([day(), day()], key=str)
    aid = ident("a")
    lead = ident("lead")
    award_type = draw(st.sampled_from(["ContractAwarded", "GrantAwarded"]))
    shares = zip(pids, roles, split, strict=True)
    out.append(rec(
        award_type, start if isinstance(start, str) else "2010-01-01",
        agreement_id=aid, kind="contract", title=text(), service_category="advocacy",
        commissioners=[{"commissioner_id": cid, "share": "1"}],
        providers=[{"provider_id": p, "role": r, "share": s} for p, r, s in shares],
        annual_value=money(), start=start, end=end, route="competitive_tender",
        funding_stream="nhs", responsible_lead=lead, source=text(),
    ))  # fmt: skip
    award_id = out[-1]["event_id"]
    when = out[-1]["effective_on"]
    if draw(st.booleans()):
        out.append(rec("Varied", when, agreement_id=aid, annual_value=money(), scope=text(),
                       rationale=text()))  # fmt: skip
    if draw(st.booleans()):
        new_end = maybe_hostile(st.just(_later(end, draw)), HOSTILE_DATE, draw)
        out.append(rec("Extended", when, agreement_id=aid, new_end=new_end, rationale=text()))
    if draw(st.booleans()):
        names = st.sampled_from(["title", "annual_value", "start", "end", "route", "no_such",
                                 "recorded_by", "source", "scope", "new_end"])  # fmt: skip
        values = {"title": text, "annual_value": money, "start": day, "end": day, "route": text,
                  "no_such": text, "recorded_by": text, "source": text, "scope": text,
                  "new_end": day}  # fmt: skip
        chosen = draw(st.lists(names, min_size=1, max_size=3, unique=True))
        out.append(rec("Corrected", when, corrects=award_id, rationale=text(),
                       fields={n: values[n]() for n in chosen}))  # fmt: skip
    if draw(st.booleans()):
        out.append(rec("ProviderRenamed", day(), provider_id=pids[0], name=text()))
    if draw(st.booleans()):
        on = maybe_hostile(st.just(_later(start, draw)), HOSTILE_DATE, draw)
        out.append(rec("Terminated", on, agreement_id=aid, rationale=text()))
    return out


def _later(day: Any, draw: st.DrawFn) -> str:
    """A valid day after `day` (when it is one), so that most worlds keep the ledger's rules."""
    try:
        first = dt.date.fromisoformat(day) + dt.timedelta(days=1)
    except (TypeError, ValueError, OverflowError):
        first = dt.date(1900, 1, 1)
    return draw(st.dates(min(first, dt.date(2099, 12, 31)), dt.date(2099, 12, 31))).isoformat()


@functools.cache  # drawn once for both stores (a module's tests share a process)
def _accepted_worlds() -> tuple[list[list[LedgerEvent]], int]:
    accepted: list[list[LedgerEvent]] = []
    refused = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(worlds())
    def draw_world(records: list[dict[str, Any]]) -> None:
        nonlocal refused
        try:
            events = [parse_event(r) for r in records]
        except LedgerError:
            refused += 1
            return
        accepted.append(events)

    draw_world()
    return accepted, refused


def test_every_accepted_event_is_read_by_every_view_and_export(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worlds_accepted, refused = _accepted_worlds()
    ledger = open_ledger(store_url)
    recorded: list[list[LedgerEvent]] = []
    by_rule = 0
    try:
        for start in range(0, len(worlds_accepted), 100):
            batch = worlds_accepted[start : start + 100]
            try:
                ledger.record([e for w in batch for e in w])
                recorded.extend(batch)
                continue
            except LedgerError:
                pass
            for world in batch:  # one world broke a rule: record the others one by one
                try:
                    ledger.record(world)
                    recorded.append(world)
                except LedgerError:
                    by_rule += 1
    finally:
        ledger.close()
    events = sum(len(w) for w in recorded)
    counts = {
        "seed": "hypothesis (its own)",
        "cases": len(worlds_accepted) + refused,
        "unit": f"worlds ({events:,} events recorded)",
        "accepted": len(worlds_accepted) - by_rule,
        "refused": f"{refused + by_rule} ({refused} by a value, {by_rule} by a rule)",
        "other": 0,
        "view_runs": 1,
    }
    record_counts(f"accepted-readable[{store_url.split(':')[0]}]", counts)
    assert len(worlds_accepted) + refused >= EXAMPLES
    assert refused and by_rule < len(worlds_accepted) // 2 and events, counts

    monkeypatch.setenv("CLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    award = next(e for e in recorded[0] if e.type.endswith("Awarded"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_every_view(
            store_url,
            tmp_path / "out",
            as_of=AS_OF,
            agreement=award.data["agreement_id"],
            commissioner=award.data["commissioners"][0]["commissioner_id"],
            lead=award.data["responsible_lead"],
            workbook=store_url.startswith("sqlite"),
        )
    # what the domain accepted, the views read as stored: no value needed a lenient reading
    lenient = [str(w.message) for w in caught if issubclass(w.category, StoredValueWarning)]
    assert not lenient, lenient
    # the native export re-imports as it is, and exports the same bytes again
    exported = tmp_path / "out" / "export.jsonl"
    again = f"sqlite:///{tmp_path / 'again.db'}"
    output(again, "import", str(exported))
    output(again, "export", "--output", str(tmp_path / "again.jsonl"))
    assert (tmp_path / "again.jsonl").read_bytes() == exported.read_bytes()
