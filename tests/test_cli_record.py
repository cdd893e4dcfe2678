"""`record` is as strict as a form: flags from the catalogue, shown by `record TYPE --help`; an
unknown flag refused; who records it required. Through the real `cledger` process, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from domain.catalogue import CATALOGUE
from tests.cli_process import EXAMPLE, cledger, plain_error

ROLLOVER = ["--agreement-id", "g-001", "--new-end", "2009-03-31", "--effective-on", "2008-09-01"]


def events(store: str) -> list[dict[str, object]]:
    lines = cledger("export", store=store).stdout.splitlines()
    return [json.loads(line) for line in lines]


def test_record_help_lists_each_types_fields() -> None:
    # every type is a command of its own, its flags its catalogue fields
    listing = cledger("record", "--help").stdout
    for name in CATALOGUE:
        assert name in listing
    for name in ("ContractAwarded", "HandedOver"):
        text = cledger("record", name, "--help").stdout
        for f in CATALOGUE[name].fields:
            assert "--" + f.name.replace("_", "-") in text, f.name
        for common in ("--event-id", "--effective-on", "--recorded-by", "--rationale", "--source"):
            assert common in text
    assert "(required)" in cledger("record", "RolledOver", "--help").stdout


def test_an_unknown_flag_or_type_is_refused_and_nothing_stored(store_url: str) -> None:
    cledger("import", str(EXAMPLE), store=store_url)
    before = events(store_url)
    done = cledger(
        "record", "RolledOver", *ROLLOVER, "--rationale", "x", "--bogus-field", "3",
        store=store_url, ok=False,
    )  # fmt: skip
    plain_error(done, "cledger record RolledOver: no such option: --bogus-field")
    plain_error(
        cledger("record", "Promoted", store=store_url, ok=False),
        "field 'type' is 'Promoted'; expected one of CommissionerEstablished",
        "see docs/format.md#every-event",
    )
    assert events(store_url) == before


@pytest.mark.slow
def test_who_records_is_required(store_url: str) -> None:
    cledger("import", str(EXAMPLE), store=store_url)
    nobody = {"CLEDGER_USER": None, "USER": None}
    done = cledger("record", "RolledOver", *ROLLOVER, "--rationale", "x", store=store_url,
                   env=nobody, ok=False)  # fmt: skip
    plain_error(done, "field 'recorded_by' is missing", "--recorded-by", "CLEDGER_USER")
    cledger("record", "RolledOver", *ROLLOVER, "--rationale", "x", "--event-id", "r1",
            store=store_url, env={"CLEDGER_USER": None, "USER": "unix-name"})  # fmt: skip
    cledger("record", "ProviderRenamed", "--provider-id", "mind-a", "--name", "Mind A North",
            "--event-id", "r2", store=store_url,
            env={"CLEDGER_USER": "ledger-name", "USER": "unix-name"})  # fmt: skip
    recorded = {e["event_id"]: e["recorded_by"] for e in events(store_url)}
    assert (recorded["r1"], recorded["r2"]) == ("unix-name", "ledger-name")


@pytest.mark.slow
def test_record_checks_fields_as_import_does_and_links_the_format(store_url: str) -> None:
    cledger("import", str(EXAMPLE), store=store_url)
    done = cledger(
        "record", "RolledOver", "--agreement-id", "g-001", "--new-end", "31/03/2009",
        "--rationale", "x", store=store_url, ok=False,
    )  # fmt: skip
    plain_error(done, "field 'new_end' is '31/03/2009'", "see docs/format.md#agreements")
    done = cledger(
        "record", "ProviderRegistered", "--provider-id", "p-2", "--name", "P Two",
        "--sector", "charity", "--size-band", "small", store=store_url, ok=False,
    )  # fmt: skip
    plain_error(
        done, "field 'sector' is 'charity'", "see docs/format.md#organisations-and-providers"
    )
    done = cledger(
        "record", "HandedOver", "--agreements", '["g-001"]', "--from-lead", "a.jones",
        "--to-lead", "c.new", "--effective-on", "2008-08-01", store=store_url, ok=False,
    )  # fmt: skip
    plain_error(done, "field 'rationale' is missing", "see docs/format.md#every-event")
