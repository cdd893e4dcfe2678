"""`cledger demo`: build the generated conurbation into a ledger and say what it holds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from domain.ledger import Ledger
from domain.register import build_register


def ledger_summary(ledger: Ledger, *, today: dt.date) -> dict[str, Any]:
    """What the ledger holds: counts by type, subjects, recording span, and a then-and-now."""
    facts = list(ledger.facts())
    by_type = Counter(f.event.type for f in facts)
    subjects = {
        kind: len({f.event.data[key] for f in facts if key in f.event.data
                   and f.event.spec.subject == kind})
        for kind, key in (("agreement", "agreement_id"), ("provider", "provider_id"),
                          ("commissioner", "commissioner_id"))
    }
    first = min((f.recorded_at for f in facts), default=None)
    last = max((f.recorded_at for f in facts), default=None)
    now = Counter(e.status for e in build_register(facts, as_of=today))
    then_known = dt.datetime(2014, 4, 1, tzinfo=dt.UTC)
    then = build_register(facts, as_of=dt.date(2014, 4, 1), known_at=then_known)
    return {
        "events": len(facts), "by_type": dict(sorted(by_type.items())), "subjects": subjects,
        "recorded_from": first, "recorded_to": last, "status_today": dict(now),
        "agreements_known_on_2014_04_01": len(then),
    }
