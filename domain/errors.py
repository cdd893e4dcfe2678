"""Domain errors: one small class per broken rule, each saying what was wrong and what was expected.

Every error is a `LedgerError`, so the edges (CLI, importers, web) can turn any of them into one
plain line for the user without knowing the rule behind it.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger reports to its users.

    An error about a field of the native format (one with a `field`, and the `event_type` when
    known) ends with where the format describes it: `...; see docs/format.md#agreements`, so
    every message about a field points to the reference, whichever rule raised it."""

    event_type: str | None = None  # the type whose field was wrong, when the parser knows it

    def __str__(self) -> str:
        text = super().__str__()
        field = getattr(self, "field", None)
        if not isinstance(field, str):
            return text
        # imported here: the reference reads the catalogue, which imports this module
        from domain.reference import section_link

        link = section_link(field, self.event_type)
        return f"{text}; see {link}" if link and link not in text else text


class InvalidFieldError(LedgerError):
    """A field of an event is missing or not of the expected shape."""

    def __init__(self, field: str, expected: str, got: object = None, *, missing: bool = False):
        self.field = field
        self.expected = expected
        detail = "is missing" if missing else f"is {got!r}"
        super().__init__(f"field '{field}' {detail}; expected {expected}")


class UnknownEventTypeError(InvalidFieldError):
    def __init__(self, got: object, known: list[str]):
        super().__init__("type", "one of " + ", ".join(known), got)


class RationaleRequiredError(InvalidFieldError):
    def __init__(self, event_type: str, why: str):
        super().__init__("rationale", f"a rationale: {why}", missing=True)
        self.args = (f"field 'rationale' is missing; expected a rationale for {event_type}: {why}",)


class DuplicateEventIdError(LedgerError):
    """An event id already in the ledger arrived with different content."""

    def __init__(self, event_id: str):
        super().__init__(
            f"event_id '{event_id}' is already in the ledger with different content; "
            "expected either the identical event (which adds nothing) or a new event_id"
        )


class UnknownReferenceError(LedgerError):
    """An event names an organisation, provider, agreement or event the ledger does not hold."""

    def __init__(self, field: str, kind: str, ref: str, detail: str = ""):
        self.field = field
        extra = f" {detail}" if detail else ""
        super().__init__(
            f"field '{field}' names {kind} '{ref}', which the ledger does not hold{extra}; "
            f"expected an existing {kind}"
        )


class InactiveReferenceError(LedgerError):
    """An event names an organisation or provider that was closed, merged or abolished by then."""

    def __init__(self, field: str, kind: str, ref: str, on: str, why: str):
        self.field = field
        super().__init__(
            f"field '{field}' names {kind} '{ref}', which {why}; expected one still active on {on}"
        )


class AlreadyExistsError(LedgerError):
    def __init__(self, kind: str, ref: str, event_id: str):
        super().__init__(
            f"{kind} '{ref}' already exists (created by event '{event_id}'); "
            f"expected a new {kind} id, or a correction of the existing event"
        )


class RuleBrokenError(LedgerError):
    """A rule on a subject's timeline is broken by an event."""


class EndBeforeStartError(RuleBrokenError):
    def __init__(self, start: str, end: str):
        super().__init__(f"term ends on {end}, before it starts on {start}; expected end >= start")


class EndNotLaterError(RuleBrokenError):
    def __init__(self, event_type: str, new_end: str, current_end: str):
        super().__init__(
            f"{event_type} sets new_end {new_end}, which is not later than the current end "
            f"{current_end}; expected a date after {current_end}"
        )


class AgreementEndedError(RuleBrokenError):
    def __init__(self, agreement_id: str, ended_by: str, ended_type: str, ended_on: str):
        super().__init__(
            f"agreement '{agreement_id}' ended on {ended_on} ({ended_type}, event '{ended_by}'); "
            "expected only a Corrected or Rescinded event after it has ended"
        )


class NotAwardedError(RuleBrokenError):
    def __init__(self, agreement_id: str, on: str):
        super().__init__(
            f"agreement '{agreement_id}' has no award in effect on {on}; "
            "expected its GrantAwarded or ContractAwarded on or before that date"
        )


class SubjectEndedError(RuleBrokenError):
    def __init__(self, kind: str, ref: str, ended_by: str, how: str, on: str):
        super().__init__(
            f"{kind} '{ref}' was {how} on {on} (event '{ended_by}'); "
            "expected only a Corrected or Rescinded event after that"
        )


class NotYetEstablishedError(RuleBrokenError):
    def __init__(self, kind: str, ref: str, on: str, since: str):
        super().__init__(
            f"{kind} '{ref}' is not established until {since}; expected an event on or after that "
            f"date, not {on}"
        )


class InvalidCorrectionError(RuleBrokenError):
    pass


class HandoverError(RuleBrokenError):
    """A handover that does not start from whoever is responsible."""


class BackfillConflictError(RuleBrokenError):
    """A back-filled event would break an event already in the ledger."""

    def __init__(self, new_event: str, broken_event: str, broken_type: str, reason: str):
        self.broken_event = broken_event
        super().__init__(
            f"event '{new_event}' would break event '{broken_event}' ({broken_type}) "
            f"already in the ledger: {reason}"
        )


class ConcurrentChangeError(LedgerError):
    """Another writer changed the same subject between our read and our write."""

    def __init__(self, subjects: list[str]):
        self.subjects = subjects
        names = ", ".join(subjects)
        super().__init__(
            f"{names} was changed by another writer at the same time; nothing was stored from "
            "this command; expected to re-read and record again"
        )


class ClockError(LedgerError):
    pass


class StoredValueWarning(UserWarning):
    """A value a store holds (recorded before the format checked it) is read other than it is
    stored: the views read it as its kind's lenient reading says, and say so once."""
