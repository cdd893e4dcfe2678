"""A subject's timeline: its events in effective-date order, corrections and rescissions applied.

Rules are checked on the timeline, not in recorded order, so that history back-filled years later
is accepted when it fits and refused, naming the event it would break, when it does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from domain.catalogue import (
    CATALOGUE,
    COMMON_TYPES,
    CORRECTION_TYPES,
    LedgerEvent,
    check_corrected_fields,
)
from domain.errors import BackfillConflictError, InvalidCorrectionError, RuleBrokenError

# Fields a correction may not change: they say *which* event and subject it is.
FIXED_FIELDS = frozenset(
    {
        "event_id",
        "type",
        "agreement_id",
        "provider_id",
        "commissioner_id",
        "responsible_lead",
        "from_lead",
    }
)
COMMON_CORRECTABLE = frozenset({"effective_on", "recorded_by", "rationale", "source"})


@dataclass(frozen=True)
class Fact:
    """A stored ledger event with its place in recorded order and its recorded time."""

    seq: int
    event: LedgerEvent
    recorded_at: dt.datetime


def corrected_event(
    original: LedgerEvent, fields: dict[str, Any], *, strict: bool = False
) -> LedgerEvent:
    """The original event with corrected fields. `strict` (a correction being recorded): only
    the fields the original's type has, each value checked by that field's kind. Otherwise (a
    correction already stored, replayed or read by the views): values read leniently by the
    same kinds, a field the type lacks or a value that cannot be read left out, so a ledger
    recorded before these checks reads again."""
    fixed = sorted(FIXED_FIELDS & fields.keys())
    if fixed:
        raise InvalidCorrectionError(
            f"field 'fields.{fixed[0]}' cannot be corrected on event '{original.event_id}'; "
            "expected a correction of the event's terms (a wrong subject is rescinded and "
            "recorded anew; responsibility moves by HandedOver)"
        )
    spec = CATALOGUE[original.type]
    if strict:
        check_corrected_fields(spec, fields, prefix="fields.")
        own = {k: v for k, v in fields.items() if k not in COMMON_CORRECTABLE}
        data = spec.parse_data({**original.data, **own}, prefix="fields.")
    else:
        own = {k: v for k, v in fields.items() if k in spec.field_names}
        read, _ = spec.read_data(own)
        data = {**original.data, **read}
    common: dict[str, Any] = {}
    for name in ("effective_on", "recorded_by", "rationale", "source"):
        if name in fields:
            kind = COMMON_TYPES[name]
            value = (
                kind.parse(f"fields.{name}", fields[name]) if strict else kind.read(fields[name])
            )
            if value is not None:
                common[name] = value
    return replace(original, data=data, **common)


def in_force(facts: Iterable[Fact]) -> list[Fact]:
    """Facts with corrections applied and rescinded events removed, in effective-date order."""
    facts = list(facts)
    if not any(f.event.type in CORRECTION_TYPES for f in facts):
        return sorted(facts, key=_timeline_key)
    rescinded = {f.event.data["rescinds"] for f in facts if f.event.type == "Rescinded"}
    corrected: dict[str, LedgerEvent] = {}
    by_id = {f.event.event_id: f for f in facts}
    for f in sorted(facts, key=lambda f: f.seq):
        if f.event.type == "Corrected" and f.event.event_id not in rescinded:
            target = f.event.data["corrects"]
            base = corrected.get(target) or by_id[target].event
            corrected[target] = corrected_event(base, f.event.data["fields"])
    kept = [
        replace(f, event=corrected[f.event.event_id]) if f.event.event_id in corrected else f
        for f in facts
        if f.event.type not in CORRECTION_TYPES and f.event.event_id not in rescinded
    ]
    return sorted(kept, key=_timeline_key)


def _timeline_key(f: Fact) -> tuple[str, int]:
    """Effective-date order; ties in recorded order."""
    return (f.event.effective_on, f.seq)


def known_at(facts: Iterable[Fact], when: dt.datetime | None) -> list[Fact]:
    """Only what the ledger had recorded at `when` (all when None)."""
    return [f for f in facts if when is None or f.recorded_at <= when]


S = TypeVar("S")


def fold(
    timeline: Sequence[Fact],
    start: S,
    step: Callable[[S, LedgerEvent], S],
    *,
    new_event_id: str | None = None,
) -> S:
    """Run `step` over the timeline; a rule broken by a later event names that event.

    When `new_event_id` is the event being added and the rule breaks at another event, the new
    one is refused with a `BackfillConflictError` naming the event it would break.
    """
    state = start
    for fact in timeline:
        try:
            state = step(state, fact.event)
        except RuleBrokenError as err:
            if new_event_id is not None and fact.event.event_id != new_event_id:
                raise BackfillConflictError(
                    new_event_id, fact.event.event_id, fact.event.type, str(err)
                ) from None
            raise
    return state
