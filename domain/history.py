"""An agreement's history for auditors: every event in recorded order, each correction or
rescission shown beside the event it corrects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.catalogue import LedgerEvent
from domain.timeline import Fact

_SKIP = frozenset({"agreement_id"})


@dataclass
class HistoryLine:
    fact: Fact
    what: str
    amendments: list[HistoryLine] = field(default_factory=list)


def describe(event: LedgerEvent) -> str:
    """A one-line account of what an event says, in the native field names."""
    parts = []
    for key, value in event.data.items():
        if key in _SKIP:
            continue
        parts.append(f"{key}={_short(value)}")
    return f"{event.type}: " + ", ".join(parts) if parts else event.type


def _short(value: Any) -> str:
    if isinstance(value, list):
        items = [
            "/".join(str(v) for k, v in item.items() if k != "role")
            if isinstance(item, dict)
            else str(item)
            for item in value
        ]
        return "[" + "; ".join(items) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def agreement_history(facts: list[Fact]) -> list[HistoryLine]:
    """Events in recorded order; corrections and rescissions nested under their targets."""
    lines: dict[str, HistoryLine] = {}
    top: list[HistoryLine] = []
    for fact in sorted(facts, key=lambda f: f.seq):
        ev = fact.event
        line = HistoryLine(fact, describe(ev))
        target = ev.data.get("corrects") or ev.data.get("rescinds")
        if ev.type in ("Corrected", "Rescinded") and target in lines:
            lines[target].amendments.append(line)
        else:
            top.append(line)
        lines[ev.event_id] = line
    return top
