"""Ledgers that already hold values the format now refuses read again (issue 13, part 1).

Before the boundary checked every value into one canonical form, the import accepted values
that the views, parsing the stored JSON again with polars, could not read: an ISO week date
(`2014-W14-1`), a start in year 1, an end on 9999-12-31, a TAB, NUL or terminal escape in a
name or title, a share in Arabic-Indic digits (`"١"`), a correction naming fields its target
lacks. Every view and export then failed with an internal polars error, for good. Such events
are stored here directly through the ledger (as an older version stored them, past today's
checks); every view and export must run, reading each value as its kind's lenient reading says
(`domain.values`), with one warning line; none may fail.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest

from domain import recording
from domain.catalogue import LedgerEvent
from domain.errors import StoredValueWarning
from domain.timeline import corrected_event
from infra.bootstrap import open_ledger
from tests import builders as b
from tests.values_views import output, run_every_view

AS_OF = "2016-06-30"


def _forced(event: LedgerEvent, **data: object) -> LedgerEvent:
    """`event` with `data` changed, past the catalogue's checks (as an older ledger stored it)."""
    return dataclasses.replace(event, data={**event.data, **data})


def old_events() -> list[LedgerEvent]:
    """A small ledger holding each kind of value the format now refuses."""
    good_award = b.award("g-ok", "2012-04-01", start="2012-04-01", end="2017-03-31")
    week = b.award("g-week", "2013-04-01", start="2013-04-01", end="2016-03-31")
    year_one = b.award("g-year1", "2013-04-01", start="2013-04-01", end="2016-03-31")
    open_end = b.award("g-open", "2013-04-01", start="2013-04-01", end="2016-03-31")
    digits = b.award("g-digits", "2013-04-01", start="2013-04-01", end="2018-03-31")
    titled = b.award("g-title", "2013-04-01", start="2013-04-01", end="2018-03-31")
    corrected = b.ev(
        "Corrected",
        "2013-05-01",
        corrects=good_award.event_id,
        fields={"annual_value": "41000.00"},
        rationale="typo",
    )
    return [
        b.commissioner(),
        _forced(b.provider(), name="Mind\tA\x00\x1b[31m red"),
        b.provider("care-b"),
        good_award,
        _forced(week, start="2013-W14-1"),
        _forced(year_one, start="0001-01-01"),
        _forced(open_end, end="9999-12-31"),
        _forced(
            digits,
            providers=[{"provider_id": "mind-a", "role": "sole", "share": "١"}],
            annual_value="50000.00",
        ),
        _forced(titled, title="Advocacy\u202e\u0085 \x07 line\nbreak"),
        _forced(corrected, fields={"annual_value": "41000.00", "no_such_field": "x"}),
        b.ev("Varied", "2014-04-01", agreement_id="g-title", annual_value="45000.00"),
    ]


@pytest.fixture
def old_ledger(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The old events recorded as the ledger did before it checked a correction's fields."""
    with monkeypatch.context() as patch:
        patch.setattr(
            recording, "corrected_event", lambda t, f, strict=False: corrected_event(t, f)
        )
        ledger = open_ledger(store_url)
        try:
            ledger.record(old_events())
        finally:
            ledger.close()
    return store_url


def test_a_ledger_holding_refused_values_reads_again_in_every_view(
    old_ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEDGER_CACHE_DIR", str(tmp_path / "cache"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_every_view(
            old_ledger,
            tmp_path / "out",
            as_of=AS_OF,
            agreement="g-week",
            commissioner="council-a",
            lead="j.smith",
        )
    said = [w for w in caught if issubclass(w.category, StoredValueWarning)]
    assert said, "the stored values read other than stored, and nothing said so"
    text = str(said[0].message)
    assert "docs/format.md#values" in text and "\n" not in text

    agreements = json.loads(output(old_ledger, "agreements", "--format", "json", "--as-of", AS_OF))
    by_id = {a["agreement_id"]: a for a in agreements}
    assert by_id["g-week"]["start"] == "2013-04-01"  # the ISO week date read as its day
    assert by_id["g-year1"]["start"] == "1900-01-01"  # clamped into the documented range
    assert by_id["g-open"]["end"] == "2099-12-31"
    assert "\t" not in by_id["g-title"]["title"] and "\u202e" not in by_id["g-title"]["title"]
    providers = json.loads(output(old_ledger, "providers", "--format", "json", "--as-of", AS_OF))
    name = next(p["name"] for p in providers if p["provider_id"] == "mind-a")
    assert name == "Mind\ufffdA\ufffd\ufffd[31m red"
    market = json.loads(output(old_ledger, "market", "--format", "json", "--as-of", AS_OF))
    assert any(r["provider_id"] == "mind-a" for r in market)
