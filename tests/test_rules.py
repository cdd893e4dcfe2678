"""Every rule of the ledger core: the named error, a message saying what was expected, and
nothing stored. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from domain.errors import (
    AgreementEndedError,
    AlreadyExistsError,
    BackfillConflictError,
    DuplicateEventIdError,
    EndBeforeStartError,
    EndNotLaterError,
    HandoverError,
    InactiveReferenceError,
    InvalidCorrectionError,
    InvalidFieldError,
    LedgerError,
    NotAwardedError,
    RationaleRequiredError,
    UnknownReferenceError,
)
from domain.ledger import Ledger
from tests.builders import award, basics, ev, provider, rec
from tests.conftest import stored_rows


def refused(ledger: Ledger, events: list, error: type[LedgerError], *fragments: str) -> str:
    """Record `events`; expect `error` whose message holds every fragment; nothing stored."""
    before = stored_rows(ledger)
    with pytest.raises(error) as caught:
        ledger.record(events)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "expected" in message, message
    assert stored_rows(ledger) == before
    return message


@pytest.fixture
def awarded(ledger: Ledger) -> Ledger:
    ledger.record([*basics(), award("g-1", "2006-04-01", end="2007-03-31")])
    return ledger


def test_end_not_before_start(ledger: Ledger) -> None:
    ledger.record(basics())
    refused(
        ledger,
        [award("g-1", "2006-04-01", end="2006-03-31")],
        EndBeforeStartError,
        "ends on 2006-03-31, before it starts on 2006-04-01",
    )


@pytest.mark.parametrize("type_", ["Extended", "RolledOver"])
def test_extension_or_rollover_moves_the_end_later(awarded: Ledger, type_: str) -> None:
    refused(
        awarded,
        [ev(type_, "2007-03-01", agreement_id="g-1", new_end="2007-03-31", rationale="r")],
        EndNotLaterError,
        f"{type_} sets new_end 2007-03-31",
        "current end 2007-03-31",
    )


def test_no_life_event_after_an_agreement_has_ended(awarded: Ledger) -> None:
    awarded.record(
        [ev("Terminated", "2006-10-01", agreement_id="g-1", rationale="closed", event_id="end-1")]
    )
    refused(
        awarded,
        [ev("Varied", "2006-11-01", agreement_id="g-1", annual_value="1.00")],
        AgreementEndedError,
        "ended on 2006-10-01",
        "end-1",
    )
    # but a correction still lands after the end
    awarded.record(
        [
            ev(
                "Corrected",
                "2007-01-05",
                corrects="end-1",
                agreement_id="g-1",
                fields={"rationale": "provider withdrew"},
            )
        ]
    )


def test_a_lapsed_agreement_may_still_be_extended(awarded: Ledger) -> None:
    awarded.record(
        [
            ev(
                "Extended",
                "2007-06-01",
                agreement_id="g-1",
                new_end="2007-09-30",
                rationale="retrospective: decision delayed by the restructure",
            )
        ]
    )
    assert awarded.agreement("g-1").terms().end == "2007-09-30"


@pytest.mark.parametrize(
    "shares,fragment",
    [
        (["0.5", "0.4"], "shares summing to exactly 1"),
        (["1.1", "-0.1"], "a share as a decimal string"),
        (["0", "1"], "a share greater than 0"),
    ],
)
def test_shares_positive_and_summing_to_one(
    ledger: Ledger, shares: list[str], fragment: str
) -> None:
    ledger.record([*basics(), provider("rethink")])
    providers = [
        {"provider_id": "mind-a", "role": "alliance_member", "share": shares[0]},
        {"provider_id": "rethink", "role": "alliance_member", "share": shares[1]},
    ]
    with pytest.raises(InvalidFieldError) as caught:
        award("al-1", providers=providers, kind="alliance")
    assert "providers" in str(caught.value) and fragment in str(caught.value)


@pytest.mark.parametrize("value", ["-1.00", "10.005", "ten", 40000])
def test_money_non_negative_with_at_most_pence(value: object) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        award(value=value)  # type: ignore[arg-type]
    assert "field 'annual_value'" in str(caught.value)
    assert "non-negative, at most two decimals" in str(caught.value)


def test_referenced_provider_must_exist(ledger: Ledger) -> None:
    ledger.record(basics())
    refused(
        ledger,
        [award(providers=[{"provider_id": "ghost", "role": "sole", "share": "1"}])],
        UnknownReferenceError,
        "providers[0].provider_id",
        "provider 'ghost'",
    )


def test_referenced_commissioner_must_exist(ledger: Ledger) -> None:
    ledger.record(basics())
    refused(
        ledger,
        [award(commissioners=[{"commissioner_id": "pct-x", "share": "1"}])],
        UnknownReferenceError,
        "commissioners[0].commissioner_id",
        "commissioner 'pct-x'",
    )


def test_referenced_agreement_must_exist(awarded: Ledger) -> None:
    refused(
        awarded,
        [
            ev(
                "Reprocured",
                "2007-01-01",
                agreement_id="g-1",
                successor_agreement_id="c-9",
                incumbent_retained=True,
            )
        ],
        UnknownReferenceError,
        "successor_agreement_id",
        "agreement 'c-9'",
    )
    refused(
        awarded,
        [ev("RolledOver", "2007-01-01", agreement_id="g-404", new_end="2009-03-31", rationale="r")],
        UnknownReferenceError,
        "agreement 'g-404'",
    )


def test_closed_provider_cannot_be_awarded_to(ledger: Ledger) -> None:
    ledger.record([*basics(), ev("ProviderClosed", "2006-01-31", provider_id="mind-a")])
    refused(
        ledger,
        [award("g-1", "2006-04-01")],
        InactiveReferenceError,
        "provider 'mind-a'",
        "was closed on 2006-01-31",
        "active on 2006-04-01",
    )


def test_abolished_commissioner_cannot_commission(ledger: Ledger) -> None:
    ledger.record(
        [
            *basics(),
            ev(
                "CommissionerEstablished",
                "2005-04-01",
                commissioner_id="icb",
                name="ICB",
                kind="icb",
            ),
            ev(
                "CommissionerAbolished",
                "2006-03-31",
                commissioner_id="council-a",
                successors=[{"commissioner_id": "icb", "share": "1"}],
            ),
        ]
    )
    refused(
        ledger,
        [award("g-1", "2006-04-01")],
        InactiveReferenceError,
        "commissioner 'council-a'",
        "was abolished on 2006-03-31",
    )


def test_correction_must_name_an_existing_event(awarded: Ledger) -> None:
    refused(
        awarded,
        [ev("Corrected", "2007-01-01", corrects="nope", fields={"annual_value": "1.00"})],
        UnknownReferenceError,
        "field 'corrects'",
        "event 'nope'",
    )
    refused(
        awarded,
        [ev("Rescinded", "2007-01-01", rescinds="nope")],
        UnknownReferenceError,
        "field 'rescinds'",
    )


def test_correction_subject_must_match(ledger: Ledger) -> None:
    ledger.record([*basics(), award("g-1", event_id="aw-1"), award("g-2", event_id="aw-2")])
    refused(
        ledger,
        [
            ev(
                "Corrected",
                "2007-01-01",
                corrects="aw-1",
                agreement_id="g-2",
                fields={"annual_value": "1.00"},
            )
        ],
        InvalidFieldError,
        "agreement_id",
        "the subject of event 'aw-1' (g-1)",
    )


def test_correction_is_checked_like_the_event_it_corrects(ledger: Ledger) -> None:
    ledger.record([*basics(), award("g-1", event_id="aw-1")])
    refused(
        ledger,
        [ev("Corrected", "2007-01-01", corrects="aw-1", fields={"annual_value": "-5"})],
        InvalidFieldError,
        "fields.annual_value",
    )
    refused(
        ledger,
        [ev("Corrected", "2007-01-01", corrects="aw-1", fields={"agreement_id": "g-2"})],
        InvalidCorrectionError,
        "fields.agreement_id",
    )


def test_handover_starts_from_whoever_is_responsible(awarded: Ledger) -> None:
    refused(
        awarded,
        [
            ev(
                "HandedOver",
                "2006-09-01",
                agreements=["g-1"],
                from_lead="b.brown",
                to_lead="c.cole",
                rationale="restructure",
            )
        ],
        HandoverError,
        "lead 'b.brown' is not responsible for agreement 'g-1' on 2006-09-01",
    )
    awarded.record(
        [
            ev(
                "HandedOver",
                "2006-09-01",
                agreements=["g-1"],
                from_lead="j.smith",
                to_lead="c.cole",
                rationale="restructure",
            )
        ]
    )
    # j.smith no longer holds it
    refused(
        awarded,
        [
            ev(
                "HandedOver",
                "2006-10-01",
                agreements=["g-1"],
                from_lead="j.smith",
                to_lead="d.dunn",
                rationale="again",
            )
        ],
        HandoverError,
        "lead 'j.smith' is not responsible",
    )


def test_portfolio_handover_moves_what_the_lead_holds_on_the_day(ledger: Ledger) -> None:
    ledger.record([*basics(), award("g-1"), award("g-2", "2008-04-01", end="2009-03-31")])
    ledger.record(
        [
            ev(
                "HandedOver",
                "2007-01-01",
                portfolio_of="j.smith",
                from_lead="j.smith",
                to_lead="a.jones",
                rationale="j.smith left",
            )
        ]
    )
    assert ledger.subject("lead", "a.jones").holdings_on("2007-01-01") == ["g-1"]
    assert ledger.subject("lead", "j.smith").holdings_on("2009-01-01") == ["g-2"]


@pytest.mark.parametrize(
    "type_,extra",
    [
        ("RolledOver", {"new_end": "2008-03-31"}),
        ("Extended", {"new_end": "2007-06-30"}),
        ("Terminated", {}),
        ("Decommissioned", {}),
    ],
)
def test_rationale_required(awarded: Ledger, type_: str, extra: dict) -> None:
    with pytest.raises(RationaleRequiredError) as caught:
        ev(type_, "2007-01-01", agreement_id="g-1", **extra)
    assert "field 'rationale' is missing" in str(caught.value)


def test_direct_award_needs_a_rationale() -> None:
    from domain.catalogue import parse_event

    record = rec(
        "ContractAwarded",
        "2006-04-01",
        agreement_id="c-1",
        kind="contract",
        title="Crisis",
        service_category="crisis_support",
        commissioners=[{"commissioner_id": "council-a", "share": "1"}],
        providers=[{"provider_id": "mind-a", "role": "sole", "share": "1"}],
        annual_value="1.00",
        start="2006-04-01",
        end="2007-03-31",
        route="direct_award",
        funding_stream="nhs",
    )
    with pytest.raises(RationaleRequiredError) as caught:
        parse_event(record)
    assert "direct award" in str(caught.value)


def test_backfilled_history_that_fits_is_accepted(awarded: Ledger) -> None:
    awarded.record(
        [
            ev(
                "RolledOver",
                "2007-03-01",
                agreement_id="g-1",
                new_end="2008-03-31",
                rationale="again",
            )
        ]
    )
    # years later a paper variation from 2006 is typed in: it fits the timeline
    awarded.record([ev("Varied", "2006-10-01", agreement_id="g-1", annual_value="41000.00")])
    terms = awarded.agreement("g-1").terms()
    assert terms.annual_value_on("2007-01-01") == "41000.00"


def test_backfill_that_would_break_a_later_event_is_refused_naming_it(awarded: Ledger) -> None:
    awarded.record(
        [
            ev(
                "Extended",
                "2007-03-01",
                agreement_id="g-1",
                new_end="2007-09-30",
                rationale="decision pending",
                event_id="ext-1",
            )
        ]
    )
    # a rollover to 2008-03-31 back-filled *before* the extension makes the extension move the
    # end earlier, so it is refused and names the extension
    message = refused(
        awarded,
        [
            ev(
                "RolledOver",
                "2007-02-01",
                agreement_id="g-1",
                new_end="2008-03-31",
                rationale="paper record",
                event_id="late-1",
            )
        ],
        BackfillConflictError,
        "'late-1' would break event 'ext-1' (Extended)",
    )
    assert "not later than the current end 2008-03-31" in message


def test_backfilled_event_before_the_award_is_refused(awarded: Ledger) -> None:
    refused(
        awarded,
        [ev("Varied", "2005-01-01", agreement_id="g-1", annual_value="1.00")],
        NotAwardedError,
        "no award in effect on 2005-01-01",
    )


def test_backfilled_ending_before_later_events_is_refused(awarded: Ledger) -> None:
    awarded.record(
        [ev("Varied", "2006-12-01", agreement_id="g-1", annual_value="45000.00", event_id="var-1")]
    )
    refused(
        awarded,
        [ev("Terminated", "2006-11-01", agreement_id="g-1", rationale="r")],
        BackfillConflictError,
        "would break event 'var-1' (Varied)",
    )


def test_rescinding_an_award_with_later_events_is_refused(awarded: Ledger) -> None:
    first = awarded.agreement("g-1").facts[0].event.event_id
    awarded.record(
        [ev("Varied", "2006-12-01", agreement_id="g-1", annual_value="45000.00", event_id="var-2")]
    )
    refused(
        awarded,
        [ev("Rescinded", "2006-12-02", rescinds=first)],
        BackfillConflictError,
        "would break event 'var-2'",
    )


def test_award_twice_is_refused(awarded: Ledger) -> None:
    refused(
        awarded,
        [award("g-1", "2008-04-01", end="2009-03-31")],
        AlreadyExistsError,
        "agreement 'g-1' already exists",
    )


def test_same_event_id_different_content_is_refused(awarded: Ledger) -> None:
    first = awarded.agreement("g-1").facts[0].event
    twin = ev(
        "Varied", "2006-12-01", agreement_id="g-1", annual_value="1.00", event_id=first.event_id
    )
    refused(awarded, [twin], DuplicateEventIdError, f"event_id '{first.event_id}'")


def test_a_refused_batch_stores_nothing_even_when_its_first_events_were_fine(
    ledger: Ledger,
) -> None:
    ledger.record(basics())
    refused(
        ledger, [award("g-1"), award("g-2"), award("g-3", end="2000-01-01")], EndBeforeStartError
    )
    assert ledger.agreement("g-1") is None


def test_rescinded_award_leaves_the_leads_portfolio(ledger: Ledger) -> None:
    ledger.record([*basics(), award("g-1", event_id="letter"), award("g-2")])
    ledger.record([ev("Rescinded", "2006-04-02", rescinds="letter", rationale="sent in error")])
    assert ledger.subject("lead", "j.smith").holdings_on("2006-05-01") == ["g-2"]
    ledger.record(
        [
            ev(
                "HandedOver",
                "2006-06-01",
                portfolio_of="j.smith",
                from_lead="j.smith",
                to_lead="a.jones",
                rationale="moved team",
            )
        ]
    )
    assert ledger.subject("lead", "a.jones").holdings_on("2006-06-01") == ["g-2"]


def test_novation_to_an_existing_subcontractor_is_refused_clearly(ledger: Ledger) -> None:
    ledger.record(
        [
            *basics(),
            provider("sub-a"),
            award(
                "lp-1",
                kind="lead_provider",
                providers=[
                    {"provider_id": "mind-a", "role": "lead", "share": "1"},
                    {"provider_id": "sub-a", "role": "subcontractor"},
                ],
            ),
        ]
    )
    refused(
        ledger,
        [
            ev(
                "Restructured",
                "2006-09-01",
                agreement_id="lp-1",
                change="novated",
                related_agreements=[],
                provider_id="sub-a",
            )
        ],
        InvalidFieldError,
        "each provider listed once",
    )


def test_a_reform_hands_over_on_the_day_the_old_body_ends(ledger: Ledger) -> None:
    ledger.record(
        [
            *basics(),
            award("g-1"),
            ev(
                "CommissionerEstablished",
                "2013-04-01",
                commissioner_id="ccg-1",
                name="CCG 1",
                kind="ccg",
            ),
            ev(
                "CommissionerAbolished",
                "2013-04-01",
                commissioner_id="council-a",
                successors=[{"commissioner_id": "ccg-1", "share": "1"}],
            ),
        ]
    )
    ledger.record(
        [
            ev(
                "HandedOver",
                "2013-04-01",
                portfolio_of="j.smith",
                from_lead="j.smith",
                to_lead="ccg.lead",
                from_commissioner="council-a",
                to_commissioner="ccg-1",
                rationale="abolition",
            )
        ]
    )
    refused(
        ledger,
        [
            ev(
                "HandedOver",
                "2013-04-02",
                agreements=["g-1"],
                from_lead="ccg.lead",
                to_lead="x",
                from_commissioner="council-a",
                rationale="too late",
            )
        ],
        InactiveReferenceError,
        "was abolished on 2013-04-01",
    )


def test_no_file_or_command_can_set_the_recorded_time() -> None:
    from domain.catalogue import parse_event

    record = rec(
        "ProviderClosed", "2006-01-01", provider_id="mind-a", recorded_at="2001-01-01T00:00:00"
    )
    with pytest.raises(InvalidFieldError) as caught:
        parse_event(record)
    assert "field 'recorded_at'" in str(caught.value) and "ledger's clock" in str(caught.value)
