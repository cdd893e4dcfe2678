"""Fuzz: mutated native lines, OCDS files, council registers and 360Giving files, each imported
as a user would, into a real store (SQLite).

Every case ends in one of three ways: accepted, refused cleanly (a `LedgerError` whose message
is one line starting with the file's name, with no `unexpected`, and the store unchanged: same
event count and same last notification id), or anything else, which must never happen. After
acceptances, in batches, every view and export runs on the store (the event frame read back
from the stored JSON, as the CLI's views read it). The counts and seeds are printed in the
terminal summary (`tests/fuzz_summary.py`).

Seeded: `CLEDGER_FUZZ_SEED` (default below) makes a run repeatable; each case's label names
its seed and index, so a failing case can be replayed alone. `CLEDGER_FUZZ_SCALE` multiplies
the number of cases (1 by default).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.errors import LedgerError
from domain.ledger import Ledger
from domain.register import build_register
from infra.bootstrap import open_ledger
from infra.interop.giving360 import import_360giving
from infra.interop.native import export_lines, import_file
from infra.interop.ocds_export import packages
from infra.interop.ocds_import import import_ocds
from infra.interop.options import ImportOptions, load_mapping
from infra.interop.register_history import import_registers
from infra.interop.view_export import ledger_views
from infra.store.frame_cache import load_event_frame
from projections.briefing import brief
from tests.builders import award, basics, commissioner, ev, provider
from tests.fuzz_summary import record_counts
from tests.ocds_builders import (
    amendment_release,
    award_release,
    package,
    termination_release,
)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("CLEDGER_FUZZ_SEED", "20261206"))
SCALE = float(os.environ.get("CLEDGER_FUZZ_SCALE", "1"))
BATCH = 40  # acceptances between two runs of every view
EXAMPLES = Path(__file__).parent.parent / "examples"

# -- adversarial values ---------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


TEXTS = [
    "",
    " ",
    "\t",
    "a\tb",
    "\x00",
    "a\x00b",
    "\r\n",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "\ufeffbom",
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(A1)",
    "é",
    "名前",
    "😀",
    "x" * 5_000,
    "y" * 140_000,
    "١٢٣",
    "１２３",
    "𝟙𝟚𝟛",
    "2014-W14-1",
    "2014-W14",
    "2014-096",
    "0001-01-01",
    "0000-01-01",
    "9999-12-31",
    "10000-01-01",
    "2019-02-29",
    "2020-02-30",
    "2020-1-1",
    "20200101",
    "2020-01-01T25:00:00",
    "2020-01-01T10:00:00+25:00",
    "2020-01-01T10:00:00Z",
    "1970-01-01",
    "1899-12-31",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e400",
    "-0",
    "0.000000001",
    "1" * 40,
    "1,000",
    "£5",
    "5.",
    ".5",
    "1_000",
    "0x10",
    " 12 ",
    "true",
    "null",
    "None",
]
JSON_VALUES: list[Any] = [
    *TEXTS,
    None,
    True,
    False,
    0,
    -1,
    1,
    1.5,
    -0.0,
    1e308,
    5e-324,
    2**63 - 1,
    -(2**63),
    [],
    {},
    [[[]]],
    {"a": "b"},
    ["2020-01-01"],
    [{"provider_id": "mind-a", "role": "sole", "share": "1"}],
    [{"commissioner_id": "council-a", "share": "2"}],
    _nested(70),
    _nested(200),
]


def adversarial(rng: random.Random, *, text_only: bool = False) -> Any:
    if text_only:
        return rng.choice(TEXTS)
    return rng.choice(JSON_VALUES)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (the value itself included)."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_paths(v, (*prefix, i)))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return value


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return value
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return value


def mutate_json(rng: random.Random, value: Any) -> Any:
    """One to three structural mutations of a JSON value: a part replaced by an adversarial
    value, deleted, or given an unknown sibling."""
    value = orjson.loads(orjson.dumps(value))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        paths = _paths(value)
        path = rng.choice(paths[1:] or paths)
        what = rng.random()
        if what < 0.65:
            value = _set(value, path, adversarial(rng))
        elif what < 0.85:
            value = _delete(value, path)
        else:
            parent = value
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                parent[rng.choice(("extra", "type", "event_id", "fields", "x" * 300))] = (
                    adversarial(rng)
                )
    return value


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """Byte-level damage: flipped, inserted or deleted bytes, invalid UTF-8, a truncation."""
    data = bytearray(data)
    what = rng.random()
    if not data:
        return bytes(rng.randrange(256) for _ in range(8))
    at = rng.randrange(len(data))
    if what < 0.25:
        data[at] = rng.randrange(256)
    elif what < 0.45:
        data[at:at] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b'"', b"{", b"]"])
    elif what < 0.6:
        del data[at : at + rng.randrange(1, 20)]
    elif what < 0.75:
        del data[at:]
    elif what < 0.85:
        data[at:at] = rng.choice([b"[" * 5_000, b'{"a":' * 300, b"9" * 400, b"1e999"])
    else:
        data[at:at] = "".join(rng.choice(string.printable) for _ in range(10)).encode()
    return bytes(data)


# -- the tally ------------------------------------------------------------------------------


@dataclass
class Tally:
    name: str
    unit: str
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    other: list[str] = field(default_factory=list)
    view_runs: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "seed": SEED,
            "unit": self.unit,
            "cases": self.cases,
            "accepted": self.accepted,
            "refused": self.refused,
            "other": len(self.other),
            "view_runs": self.view_runs,
        }


def store_state(ledger: Ledger) -> tuple[int, int | None]:
    recorder: Any = ledger.recorder
    return sum(recorder.count_by_topic().values()), recorder.max_notification_id()


class Fuzz:
    """One store the cases are imported into, with a copy of its base to start again from
    when an accepted case has broken the views (so one bad event is reported once)."""

    def __init__(
        self,
        tmp: Path,
        tally: Tally,
        base: Callable[[Ledger], None],
        url: str | None = None,
    ):
        """`url`: a store of another kind (PostgreSQL) to import into, checked for refusals
        only (the views read the same frame whatever the store: the SQLite runs check them)."""
        self.tmp, self.tally, self.url = tmp, tally, url
        self.base_file = tmp / "base.db"
        self.generation = 0
        if url is not None:
            self.ledger = open_ledger(url)
            base(self.ledger)
        else:
            ledger = open_ledger(f"sqlite:///{self.base_file}")
            base(ledger)
            ledger.close()
            self.ledger = self._fresh()
        self.pending: list[tuple[str, Callable[[Ledger], Any]]] = []
        self.history: list[tuple[str, Callable[[Ledger], Any]]] = []

    def _fresh(self) -> Ledger:
        self.generation += 1
        path = self.tmp / f"store-{self.generation}.db"
        shutil.copyfile(self.base_file, path)
        return open_ledger(f"sqlite:///{path}")

    def case(self, label: str, path: Path, run: Callable[[Ledger], Any]) -> None:
        tally = self.tally
        tally.cases += 1
        before = store_state(self.ledger)
        try:
            run(self.ledger)
        except LedgerError as err:
            message = str(err)
            problem = None
            if "\n" in message:
                problem = "a refusal of more than one line"
            elif not message.startswith(str(path)):
                problem = "a refusal that does not start with the file's name"
            elif re.search(r"unexpected [A-Z]\w*(Error|Exception)|Traceback", message):
                problem = "a refusal quoting an internal error"
            elif store_state(self.ledger) != before:
                problem = f"the store changed after a refusal ({before} -> ...)"
            if problem:
                tally.other.append(f"{label}: {problem}: {message[:300]!r}")
            else:
                tally.refused += 1
            return
        except Exception as err:  # noqa: BLE001 - what the fuzz exists to find
            tally.other.append(f"{label}: {type(err).__name__}: {str(err)[:300]!r}")
            return
        tally.accepted += 1
        if self.url is not None:
            return
        self.pending.append((label, run))
        if len(self.pending) >= BATCH:
            self.views()

    def views(self) -> None:
        """Every view, once for the batch of acceptances; when they fail, what was accepted
        since the store was last fresh is replayed on a fresh one, the views run after each
        case of the batch, to name the first case that breaks them."""
        if not self.pending:
            return
        self.tally.view_runs += 1
        self.history.extend(self.pending)
        try:
            run_every_view(self.ledger)
        except Exception as err:  # noqa: BLE001
            self.ledger.close()
            self.ledger = self._fresh()
            self.tally.other.append(self._culprit(err))
            self.ledger.close()
            self.ledger = self._fresh()
            self.history = []
        self.pending = []

    def _culprit(self, err: Exception) -> str:
        before = self.history[: len(self.history) - len(self.pending)]
        for _label, run in before:
            try:
                run(self.ledger)
            except Exception:  # noqa: BLE001 - replayed as it was: accepted then
                continue
        for label, run in self.pending:
            try:
                run(self.ledger)
            except Exception:  # noqa: BLE001
                continue
            try:
                run_every_view(self.ledger)
            except Exception as one:  # noqa: BLE001
                return f"{label}: accepted, then a view fails: {_brief(one)}"
        labels = ", ".join(label for label, _ in self.pending)
        return f"views failed after accepting {labels}: {_brief(err)}"

    def finish(self) -> None:
        self.views()
        self.ledger.close()
        record_counts(self.tally.name, self.tally.summary())
        assert self.tally.other == [], (
            f"seed {SEED}: {len(self.tally.other)} cases neither accepted nor refused cleanly:\n"
            + "\n".join(self.tally.other[:40])
        )


def _brief(err: Exception) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())[:300]!r}"


def run_every_view(ledger: Ledger) -> None:
    """Every view and export of the store, on two days: what `cledger` computes."""
    frame = load_event_frame(ledger, cache=False)
    commissioners = (
        frame.filter(frame["type"] == "CommissionerEstablished")["subject_id"].unique().to_list()
        if "subject_id" in frame.columns
        else []
    )
    for day in (dt.date(2018, 6, 1), dt.date(2031, 1, 1)):
        for _name, rows in ledger_views(frame, day):
            rows.height  # noqa: B018 - computed: that is the check
        build_register(ledger.facts(), as_of=day)
        for cid in commissioners[:2]:
            brief(frame, day, commissioner=cid)
    for _ in export_lines(ledger):
        pass
    for _ in packages(ledger):
        pass


def n(cases: int) -> int:
    return max(1, round(cases * SCALE))


# -- native ---------------------------------------------------------------------------------


def native_base(ledger: Ledger) -> None:
    ledger.record([*basics(), commissioner("ccg-y", kind="ccg"), provider("trust-d")])
    ledger.record([award("g-1", end="2012-03-31"), award("g-2", route="direct_award")])


def native_templates(i: int) -> list[dict[str, Any]]:
    """Valid events for a store holding `native_base`, each new (ids from `i`)."""
    aid = f"fz-{i}"
    return [
        award(aid, "2010-04-01", end="2013-03-31", event_id=f"{aid}-aw").to_record(),
        award(
            aid,
            "2010-04-01",
            type_="ContractAwarded",
            kind="contract",
            event_id=f"{aid}-c",
            route="competitive_tender",
        ).to_record(),
        ev(
            "Varied",
            "2011-01-01",
            agreement_id="g-1",
            annual_value="45000.00",
            applies_from="2011-04-01",
            event_id=f"{aid}-v",
        ).to_record(),
        ev(
            "Extended",
            "2011-06-01",
            agreement_id="g-1",
            new_end=f"{2012 + i % 30}-09-30",
            rationale="market shaping",
            event_id=f"{aid}-x",
        ).to_record(),
        ev(
            "Corrected",
            "2011-01-01",
            agreement_id="g-1",
            corrects="t-none",
            fields={"annual_value": "41000.00"},
            event_id=f"{aid}-k",
        ).to_record(),
        ev(
            "ProviderRegistered",
            "2009-01-01",
            provider_id=f"p-{i}",
            name="New Provider",
            sector="private",
            size_band="small",
            event_id=f"{aid}-p",
        ).to_record(),
        ev(
            "Restructured",
            "2011-02-01",
            agreement_id="g-1",
            change="member_joined",
            provider_id="trust-d",
            related_agreements=[],
            event_id=f"{aid}-r",
        ).to_record(),
        ev(
            "FundingResponsibilityAgreed",
            "2011-03-01",
            agreement_id="g-1",
            commissioners=[
                {"commissioner_id": "council-a", "share": "0.5"},
                {"commissioner_id": "ccg-y", "share": "0.5"},
            ],
            notes="split",
            event_id=f"{aid}-f",
        ).to_record(),
        ev(
            "HandedOver",
            "2011-05-01",
            agreements=["g-1"],
            from_lead="j.smith",
            to_lead="p.jones",
            rationale="restructure",
            event_id=f"{aid}-h",
        ).to_record(),
        ev(
            "Terminated", "2011-07-01", agreement_id="g-2", rationale="failing", event_id=f"{aid}-t"
        ).to_record(),
    ]


# what the issue found accepted by the import and then breaking every view
FOUND = ["2014-W14-1", "2014-096", "0001-01-01", "9999-12-31", "١", "١٢٠٠٠", "a\tb", "a\x00b"]
FOUND += ["\x1b[2Jx", "x\u0085y"]
TARGETS = ("effective_on", "start", "end", "new_end", "applies_from", "annual_value", "name")
TARGETS += ("title", "scope", "notes", "rationale", "source")


def native_case(rng: random.Random, i: int) -> bytes:
    record = rng.choice(native_templates(i))
    if record["type"] == "Corrected":
        record["corrects"] = rng.choice(["g-1-aw", "t1", "nope"])
    if rng.random() < 0.1:
        return orjson.dumps(record) + b"\n"  # unmutated: some must be accepted
    if rng.random() < 0.2:  # aimed: one field of the record given one of the issue's values
        fields = [k for k in TARGETS if k in record] or ["effective_on"]
        record[rng.choice(fields)] = rng.choice(FOUND)
        return orjson.dumps(record) + b"\n"
    if rng.random() < 0.75:
        mutated = mutate_json(rng, record)
        try:
            line = orjson.dumps(mutated)
        except orjson.JSONEncodeError:  # nested past orjson's writer: the stdlib writes it
            import json

            line = json.dumps(mutated).encode()
    else:
        line = mutate_bytes(rng, orjson.dumps(record))
    return line.replace(b"\n", b" ") + b"\n"


@pytest.mark.parametrize(
    ("store", "cases"),
    [("sqlite", 1000), pytest.param("postgresql", 200, marks=pytest.mark.integration)],
)
def test_fuzz_native_lines(
    tmp_path: Path, request: pytest.FixtureRequest, store: str, cases: int
) -> None:
    """On SQLite, 1,000 lines with the views; on PostgreSQL, the first 200 of the same lines,
    for what a refusal leaves in the store."""
    url = request.getfixturevalue("pg_url") if store == "postgresql" else None
    tally = Tally(f"native lines ({store})", "lines")
    fuzz = Fuzz(tmp_path, tally, native_base, url)
    rng = random.Random(SEED)
    for i in range(n(cases)):
        path = tmp_path / f"native-{SEED}-{i}.jsonl"
        path.write_bytes(native_case(rng, i))
        fuzz.case(f"native seed {SEED} case {i}", path, lambda led, p=path: import_file(led, p))
    fuzz.finish()
    assert tally.accepted >= tally.cases // 20 and tally.refused >= tally.cases // 100


# -- OCDS -----------------------------------------------------------------------------------


def ocds_case(rng: random.Random, i: int, folder: Path) -> Path:
    ocid = f"ocds-fz{SEED % 1000}-{i}"
    releases = [award_release(ocid=ocid)]
    if rng.random() < 0.6:
        releases.append(amendment_release(ocid=ocid))
    if rng.random() < 0.4:
        releases.append(termination_release(ocid=ocid))
    if rng.random() < 0.3:
        releases.append(
            {
                **award_release(
                    ocid=ocid,
                    rid="r9",
                    date="2016-03-01T09:06:00Z",
                    amount=rng.choice([7300, 73000000]),
                ),
                "tag": ["awardUpdate"],
            }
        )
    doc: Any = package(releases)
    as_lines = rng.random() < 0.3
    if rng.random() < 0.85:
        doc = mutate_json(rng, doc)
    if as_lines and isinstance(doc, dict) and isinstance(doc.get("releases"), list):
        body = b"".join(_dumps(r) + b"\n" for r in doc["releases"])
        path = folder / f"ocds-{i}.jsonl"
    else:
        body = _dumps(doc)
        path = folder / f"ocds-{i}.json"
    if rng.random() < 0.25:
        body = mutate_bytes(rng, body)
    path.write_bytes(body)
    return path


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        import json

        return json.dumps(value).encode()


def test_fuzz_ocds_files(tmp_path: Path) -> None:
    tally = Tally("OCDS files", "files")
    fuzz = Fuzz(tmp_path, tally, lambda ledger: None)
    rng = random.Random(SEED + 1)
    for i in range(n(200)):
        path = ocds_case(rng, i, tmp_path)
        fuzz.case(
            f"ocds seed {SEED} case {i}",
            path,
            lambda led, p=path: import_ocds(led, [p], ImportOptions(commissioner="council-a")),
        )
    fuzz.finish()
    assert tally.accepted >= tally.cases // 20 and tally.refused >= tally.cases // 10


# -- registers and 360Giving ----------------------------------------------------------------

REGISTER = (EXAMPLES / "registers" / "croydon-register-2019-03-31.csv").read_text()
CROYDON = load_mapping(EXAMPLES / "registers" / "croydon-mapping.toml")


def mutate_csv(rng: random.Random, text: str, ident: str) -> bytes:
    """Cells replaced by adversarial text, rows made ragged, quotes broken; then, sometimes,
    encoded otherwise or damaged byte by byte."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:]:
        if row:
            row[0] = f"{ident}-{row[0]}"
    for _ in range(rng.choice((1, 1, 2, 3))):
        r = rng.randrange(len(rows))
        row = rows[r]
        what = rng.random()
        if what < 0.7 and row:
            row[rng.randrange(len(row))] = adversarial(rng, text_only=True)
        elif what < 0.8:
            row.append(adversarial(rng, text_only=True))
        elif what < 0.9 and row:
            del row[rng.randrange(len(row))]
        else:
            rows.insert(r, [])
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    body = out.getvalue()
    if rng.random() < 0.05:
        body = body.replace('"', "", 1)
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16"])
    data = body.encode(encoding, errors="replace")
    if rng.random() < 0.2:
        data = mutate_bytes(rng, data)
    return data


def registers_base(ledger: Ledger) -> None:
    ledger.record([commissioner("croydon")])


def test_fuzz_council_registers(tmp_path: Path) -> None:
    tally = Tally("council registers", "files")
    fuzz = Fuzz(tmp_path, tally, registers_base)
    rng = random.Random(SEED + 2)
    first = dt.date(2019, 3, 31)
    for i in range(n(200)):
        day = first + dt.timedelta(days=i)
        path = tmp_path / f"register-{day.isoformat()}.csv"
        path.write_bytes(mutate_csv(rng, REGISTER, f"F{i}"))
        mapping = CROYDON if rng.random() < 0.7 else {}
        fuzz.case(
            f"register seed {SEED} case {i}",
            path,
            lambda led, p=path, m=mapping: import_registers(
                led, [p], ImportOptions(commissioner="croydon", mapping=m)
            ),
        )
    fuzz.finish()
    assert tally.accepted >= tally.cases // 20 and tally.refused >= tally.cases // 10


GRANTS = orjson.loads((EXAMPLES / "360giving" / "croydon-grants.json").read_bytes())
GRANTS_CSV = (EXAMPLES / "360giving" / "croydon-grants.csv").read_text()


def giving_case(rng: random.Random, i: int, folder: Path) -> Path:
    if rng.random() < 0.35:
        path = folder / f"grants-{i}.csv"
        text = GRANTS_CSV.replace("360G-", f"360G-F{i}-")
        path.write_bytes(mutate_csv(rng, text, f"F{i}"))
        return path
    doc = orjson.loads(orjson.dumps(GRANTS).replace(b'"360G-', f'"360G-F{i}-'.encode()))
    if rng.random() < 0.9:
        doc = mutate_json(rng, doc)
    body = _dumps(doc)
    if rng.random() < 0.2:
        body = mutate_bytes(rng, body)
    path = folder / f"grants-{i}.json"
    path.write_bytes(body)
    return path


def test_fuzz_360giving_files(tmp_path: Path) -> None:
    tally = Tally("360Giving files", "files")
    fuzz = Fuzz(tmp_path, tally, lambda ledger: None)
    rng = random.Random(SEED + 3)
    for i in range(n(200)):
        path = giving_case(rng, i, tmp_path)
        fuzz.case(
            f"360giving seed {SEED} case {i}",
            path,
            lambda led, p=path: import_360giving(led, [p], ImportOptions()),
        )
    fuzz.finish()
    assert tally.accepted >= tally.cases // 20 and tally.refused >= tally.cases // 10


def test_the_fuzz_values_include_the_cases_the_issue_names() -> None:
    """The adversarial values hold what the issue found (so the fuzz cannot quietly lose
    them): ISO weeks, year 1, 9999-12-31, control characters, non-ASCII digits, formulas."""
    for value in (
        "2014-W14-1",
        "0001-01-01",
        "9999-12-31",
        "\t",
        "\x00",
        "١",
        "=cmd|' /C calc'!A0",
    ):
        assert any(value in t for t in TEXTS), value
