"""The format travels with the product, and the help and the README agree with the commands:
`docs/format.md` describes every type and field the catalogue declares and has every section an
error links to; field errors link it; `--help` wraps at the terminal's width; the README's CLI
reference lists exactly the commands `--help` lists."""

from __future__ import annotations

import re

from domain.catalogue import CATALOGUE, COMMON_FIELDS, LedgerEvent, parse_event
from domain.errors import InvalidFieldError, UnknownReferenceError
from domain.reference import FORMAT_DOC, SECTIONS, section_link
from tests.cli_process import ROOT, cledger, plain_error

FORMAT = (ROOT / FORMAT_DOC).read_text()
README = (ROOT / "README.md").read_text()


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a document's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_the_reference_describes_every_type_and_field() -> None:
    for name, spec in CATALOGUE.items():
        assert f"`{name}`" in FORMAT, name
        for f in spec.fields:
            assert f"`{f.name}`" in FORMAT, (name, f.name)
    for name in COMMON_FIELDS:
        assert f"`{name}`" in FORMAT


def test_every_linked_section_exists() -> None:
    assert set(SECTIONS) <= anchors(FORMAT)
    for spec in CATALOGUE.values():
        for f in spec.fields:
            link = section_link(f.name, spec.name)
            assert link is not None and link.split("#")[1] in anchors(FORMAT)


def test_field_errors_link_their_section_and_options_do_not() -> None:
    award = {"type": "ContractAwarded", "event_id": "x", "effective_on": "2020-01-01"}
    raw = {**award, "recorded_by": "a", "agreement_id": "c", "kind": "bogus"}
    try:
        parse_event(raw)
    except InvalidFieldError as err:
        assert str(err).endswith("; see docs/format.md#agreements")  # kind of an award
    established = {"type": "CommissionerEstablished", "event_id": "y", "effective_on": "2020-01-01"}
    raw = {**established, "recorded_by": "a", "commissioner_id": "c", "name": "C", "kind": "x"}
    try:
        parse_event(raw)
    except InvalidFieldError as err:
        assert str(err).endswith("; see docs/format.md#organisations-and-providers")
    missing = UnknownReferenceError("providers", "provider", "p-9")
    assert str(missing).endswith("; see docs/format.md#agreements")  # an award's providers
    assert "docs/format.md" not in str(InvalidFieldError("--as-of", "a date", "x"))
    assert isinstance(parse_event({**award, "recorded_by": "a", **_award()}), LedgerEvent)


def _award() -> dict[str, object]:
    return {
        "agreement_id": "c",
        "kind": "contract",
        "title": "T",
        "service_category": "advocacy",
        "commissioners": [{"commissioner_id": "c", "share": "1"}],
        "providers": [{"provider_id": "p", "role": "sole", "share": "1"}],
        "annual_value": "1.00",
        "start": "2020-01-01",
        "end": "2020-12-31",
        "route": "competitive_tender",
        "funding_stream": "nhs",
    }


def test_a_bad_import_links_the_reference(tmp_path: object) -> None:
    bad = ROOT / "examples" / "advocacy.jsonl"
    lines = bad.read_text().splitlines()
    lines[4] = lines[4].replace('"new_end":"2008-09-30"', '"new_end":"2008-9-30"')
    path = tmp_path / "bad.jsonl"  # type: ignore[operator]
    path.write_text("\n".join(lines) + "\n")
    done = cledger("import", str(path), store=f"sqlite:///{tmp_path}/l.db", ok=False)
    plain_error(done, "field 'new_end'", "; see docs/format.md#agreements")


def help_commands(text: str) -> list[str]:
    """The commands a `--help` lists (rich's box: `│ name   description │`)."""
    box = text.split("Commands")[1]
    return re.findall(r"^│ ([a-z][a-z-]*) ", box, flags=re.M)


def readme_commands() -> set[str]:
    """The commands the README's CLI reference tables name (`cledger NAME ...` in the first
    column)."""
    return set(re.findall(r"^\| `cledger ([a-z][a-z-]*)", README, flags=re.M))


def test_the_readme_lists_the_commands_help_lists() -> None:
    listed = help_commands(cledger("--help", columns=200).stdout)
    assert len(listed) > 20
    assert set(listed) == readme_commands()
    assert "FORMAT.md" not in README and "docs/format.md" in README


def test_help_wraps_at_the_terminal_width() -> None:
    wide = cledger("--help", columns=240).stdout
    # a docstring written over three lines is one line of help on a wide terminal
    assert re.search(r"Import a native JSON Lines file, or OCDS, council register or 360Giving "
                     r"files: all of it, or nothing", wide)  # fmt: skip
    narrow = cledger("brief", "--help", columns=60).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 60
    assert "handover" in narrow
