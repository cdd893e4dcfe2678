"""The base of every aggregate in the ledger: a subject whose state is the fold of its timeline.

Each native event type becomes an event class of the aggregate it belongs to (so the stored topic
names the type, e.g. `domain.agreements:Agreement.RolledOver`), generated from the catalogue
rather than listed a second time by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from functools import lru_cache
from typing import Any

from eventsourcing.domain import Aggregate

from domain.catalogue import CATALOGUE, LedgerEvent, Subject, stored_event
from domain.errors import AlreadyExistsError
from domain.timeline import Fact, in_force, known_at

NAMESPACE = uuid.UUID("6f1c2a8e-4b9d-5e3f-8a7c-1d2e3f4a5b6c")


@lru_cache(maxsize=1 << 20)
def subject_uuid(kind: str, ref: str) -> uuid.UUID:
    """Stable aggregate id for a subject: the same `agreement_id` always finds the same stream."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{ref}")


def subject_hex(kind: str, ref: str) -> str:
    """`subject_uuid(kind, ref).hex`, computed as uuid5 does it but without building a UUID: a
    bulk import names millions of subjects once each."""
    b = bytearray(hashlib.sha1(NAMESPACE.bytes + f"{kind}:{ref}".encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    return b.hex()


class LedgerSubject(Aggregate):
    """An agreement, provider, commissioner or lead's portfolio, as a list of facts."""

    # Plain assignments, not annotations: the library turns an annotated aggregate class into a
    # dataclass, whose generated __init__ would replace ours.
    SUBJECT = ""
    CREATED_BY: frozenset[str] = frozenset()

    class Recorded(Aggregate.Event):
        """A native ledger event stored on this subject; its class name is its type."""

        event_id: str
        effective_on: str
        recorded_by: str
        rationale: str | None
        source: str | None
        data: dict[str, Any]

        def as_ledger_event(self) -> LedgerEvent:
            return stored_event(
                self.event_id,
                type(self).__name__,
                self.effective_on,
                self.recorded_by,
                self.rationale,
                self.source,
                self.data,
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.add_fact(
                Fact(self.originator_version, self.as_ledger_event(), self.timestamp)
            )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The library makes subclasses of a dataclass aggregate into dataclasses, generating an
        # __init__ that would hide ours; keep the inherited one unless a class writes its own.
        own_init = "__init__" in cls.__dict__
        super().__init_subclass__(**kwargs)
        if not own_init:
            cls.__init__ = LedgerSubject.__init__  # type: ignore[method-assign]

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.ids: dict[str, Fact] = {}

    def add_fact(self, fact: Fact) -> None:
        self.facts.append(fact)
        self.ids[fact.event.event_id] = fact

    @classmethod
    def open(cls, ref: str, event: LedgerEvent, recorded_at: dt.datetime) -> Any:
        """Create the subject from its first event (award, registration, establishment)."""
        event_class = getattr(cls, event.type)
        return cls._create(
            event_class,
            id=subject_uuid(cls.SUBJECT, ref),
            timestamp=recorded_at,
            **_event_kwargs(event),
        )

    def append(self, event: LedgerEvent, recorded_at: dt.datetime, **extra: Any) -> None:
        if event.type in self.CREATED_BY:
            first = self.facts[0].event if self.facts else None
            raise AlreadyExistsError(
                self.SUBJECT, event.subject_id or "?", first.event_id if first else "?"
            )
        self.trigger_event(
            getattr(type(self), event.type), timestamp=recorded_at, **_event_kwargs(event), **extra
        )

    def timeline(self, *, known: dt.datetime | None = None) -> list[Fact]:
        """Facts in force (corrections applied), in effective-date order, as known at `known`."""
        return in_force(known_at(self.facts, known))


def _event_kwargs(event: LedgerEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "effective_on": event.effective_on,
        "recorded_by": event.recorded_by,
        "rationale": event.rationale,
        "source": event.source,
        "data": event.data,
    }


def declare_event_classes(cls: type[LedgerSubject], subject: Subject) -> None:
    """Attach one event class per catalogue type of this subject (and the corrections)."""
    names = [t.name for t in CATALOGUE.values() if t.subject in (subject, "target")]
    for name in names:
        if name in cls.__dict__:  # declared by hand, with attributes of its own
            continue
        bases: tuple[type, ...] = (cls.Recorded,)
        if name in cls.CREATED_BY:
            bases = (cls.Recorded, Aggregate.Created)
        event_class = type(
            name,
            bases,
            {"__qualname__": f"{cls.__qualname__}.{name}", "__module__": cls.__module__},
        )
        setattr(cls, name, event_class)
