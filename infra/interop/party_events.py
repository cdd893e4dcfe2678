"""The stored events of commissioners and providers, read by topic.

Why: matching an import's parties needs every name and identifier the ledger holds, which only
the organisations' own events carry (`ProviderRegistered`, `CommissionerEstablished`, renames
and the rest). Reading the whole log decodes every agreement event too; asking the store for
these topics alone means only party events are fetched and decoded, so building the index costs
what the parties cost, whatever the number of agreement events.
"""

from __future__ import annotations

from collections.abc import Iterator

from eventsourcing.utils import get_topic

from domain.catalogue import CATALOGUE, LedgerEvent
from domain.ledger import Ledger
from domain.organisations import Commissioner, Provider
from domain.subjects import LedgerSubject

PAGE = 10_000


def party_topics() -> list[str]:
    """The stored topics of every event type whose subject is a commissioner or a provider
    (corrections and rescissions, which name their target, are left out as the index ignores
    them)."""
    topics = []
    for cls in (Commissioner, Provider):
        for name, spec in CATALOGUE.items():
            event_class = cls.__dict__.get(name)
            if spec.subject == cls.SUBJECT and isinstance(event_class, type):
                topics.append(get_topic(event_class))
    return topics


def party_events(ledger: Ledger, *, page: int = PAGE) -> Iterator[LedgerEvent]:
    """Commissioner and provider events in recorded order (the notification log's), `page`
    notifications per query."""
    topics = party_topics()
    start = 1
    while True:
        found = ledger.recorder.select_notifications(start=start, limit=page, topics=topics)
        for notification in found:
            event = ledger.mapper.to_domain_event(notification)
            if isinstance(event, LedgerSubject.Recorded):
                yield event.as_ledger_event()
        if len(found) < page:
            return
        start = found[-1].id + 1
